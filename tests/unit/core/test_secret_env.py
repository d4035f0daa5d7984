"""The migration container's Secret-backed env values are found and masked."""

import base64

from shipit.core.redact import MASK, redact
from shipit.kube.secret_env import SecretRef, secret_refs, secret_values


def b64(s):
    return base64.b64encode(s.encode()).decode()


POD = {
    "initContainers": [{"name": "proxy", "envFrom": [{"secretRef": {"name": "proxy-creds"}}]}],
    "containers": [{"name": "web", "env": [
        {"name": "RAILS_ENV", "value": "production"},
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_URL"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "AGAIN", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_URL"}}},
    ]}],
}


def test_refs_from_env_and_env_from_in_every_container_once():
    assert secret_refs(POD) == (SecretRef("proxy-creds", None), SecretRef("shop-db", "DATABASE_URL"))


def test_values_decoded_and_registered_mask_the_url_password_alone():
    secrets = {"shop-db": {"DATABASE_URL": b64("mysql2://shop:Zq9-x!long@db/shop")},
               "proxy-creds": {"A": b64("proxy-token-abc"), "B": "!!not base64!!"}}
    values = secret_values(secret_refs(POD), secrets)
    assert "mysql2://shop:Zq9-x!long@db/shop" in values and "proxy-token-abc" in values
    from shipit.core.redact import register_secret
    for v in values:
        register_secret(v)
    out = redact("Mysql2::Error: Access denied (Zq9-x!long) token proxy-token-abc")
    assert "Zq9-x!long" not in out and "proxy-token-abc" not in out and out.count(MASK) == 2


def test_missing_secret_or_key_is_skipped():
    assert secret_values([SecretRef("gone", "K"), SecretRef("s", "missing")], {"s": {"K": b64("v")}}) == ()
