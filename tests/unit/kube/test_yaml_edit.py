"""Writing the image tag into a GitOps repository's file touches only that value."""

import pytest
import yaml

from shipit.adapters.code.yaml_edit import get_values_key, set_kustomize_image, set_values_key, tag_of
from shipit.core.errors import BadInput


def get_kustomize_tag(text: str, name: str, source: str = "") -> str | None:
    return next((str(e["newTag"]) for e in yaml.safe_load(text).get("images") or [] if e["name"] == name), None)


KUSTOMIZATION = """\
# production overlay: owned by the platform team
resources:
  - ../../base
images:
  - name: registry.example.com/sidecar
    newTag: "1.4"
  - name: registry.example.com/shop   # bumped by shipit
    newTag: 'abc123'
"""

VALUES = """\
replicaCount: 3
image:
  repository: registry.example.com/shop
  tag: abc123   # set by shipit
worker: {enabled: true}
"""


def test_the_kustomize_images_entry_changes_and_nothing_else():
    out = set_kustomize_image(KUSTOMIZATION, "registry.example.com/shop", "def456", source="k.yaml")
    assert out == KUSTOMIZATION.replace("newTag: 'abc123'", "newTag: 'def456'")
    assert get_kustomize_tag(out, "registry.example.com/shop", source="k.yaml") == "def456"
    assert get_kustomize_tag(out, "registry.example.com/sidecar", source="k.yaml") == "1.4"


def test_a_missing_entry_or_a_digest_pin_is_rewritten_with_the_tag():
    out = set_kustomize_image("resources: [app.yaml]\n", "reg/shop", "v2", source="k.yaml")
    assert get_kustomize_tag(out, "reg/shop", source="k.yaml") == "v2" and "app.yaml" in out
    pinned = "images:\n- name: reg/shop\n  newTag: v1\n  digest: sha256:aaaa\n"
    out = set_kustomize_image(pinned, "reg/shop", "v2", source="k.yaml")
    assert "digest" not in out and get_kustomize_tag(out, "reg/shop", source="k.yaml") == "v2"


def test_a_values_key_changes_in_place_and_a_missing_key_is_refused():
    out = set_values_key(VALUES, "image.tag", "def456", source="values.yaml")
    assert out == VALUES.replace("tag: abc123", "tag: def456")
    assert get_values_key(out, "image.tag", source="values.yaml") == "def456"
    with pytest.raises(BadInput, match="values.yaml: key image.tga not found"):
        set_values_key(VALUES, "image.tga", "x", source="values.yaml")
    assert "tag: '0123'" in set_values_key(VALUES, "image.tag", "0123", source="values.yaml")  # stays a string


def test_the_tag_of_an_image():
    assert tag_of("registry:5000/shop:abc") == "abc"
    with pytest.raises(BadInput):
        tag_of("registry:5000/shop")
