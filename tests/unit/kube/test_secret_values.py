"""Which Secrets (and which of their keys) the migration container takes env from, and their decoded values."""

from __future__ import annotations

import base64

from shipit.kube.secret_values import SecretRef, secret_refs, secret_values, unreadable_note


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_key_refs_name_their_keys_and_env_from_means_every_key():
    container = {
        "env": [
            {"name": "RAILS_ENV", "value": "production"},
            {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "password"}}},
            {"name": "DATABASE_USER", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "user"}}},
            {"name": "HOST", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "host"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-api", "key": "token", "optional": True}}},
        ],
        "envFrom": [{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "shop-keys"}}],
    }
    assert secret_refs(container) == (
        SecretRef("shop-keys", None),
        SecretRef("shop-db", frozenset({"password", "user"})),
        SecretRef("shop-api", frozenset({"token"}), optional=True),
    )


def test_a_secret_named_both_ways_is_read_whole_and_is_optional_only_if_every_reference_is():
    container = {"envFrom": [{"secretRef": {"name": "db", "optional": True}}],
                 "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]}
    assert secret_refs(container) == (SecretRef("db", None, optional=False),)


def test_a_container_without_secret_refs_names_none():
    assert secret_refs({"name": "web", "env": [{"name": "A", "value": "b"}]}) == ()


def test_only_the_used_keys_are_decoded_and_binary_values_are_skipped():
    secret = {"data": {"password": b64("Zq8-unusual-value"), "user": b64("shop"), "cert": base64.b64encode(b"\xff\xfe").decode(),
                       "unused": b64("not-referenced-value")}}
    assert secret_values(secret, SecretRef("db", frozenset({"password", "user", "cert"}))) == ("Zq8-unusual-value", "shop")
    assert set(secret_values(secret, SecretRef("db", None))) == {"Zq8-unusual-value", "shop", "not-referenced-value"}
    assert secret_values({"metadata": {"name": "empty"}}, SecretRef("empty", None)) == ()


def test_the_note_names_the_secret_and_what_to_grant_only_when_forbidden():
    forbidden = unreadable_note("shop-api", forbidden=True)
    assert "Secret shop-api" in forbidden and "masked only by pattern" in forbidden
    assert "resourceNames [shop-api]" in forbidden and "config/rbac.yaml" in forbidden
    missing = unreadable_note("shop-api", forbidden=False)
    assert "not found" in missing and "resourceNames" not in missing
