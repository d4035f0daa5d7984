"""Setting the release's image tag in a GitOps repository's file, changing only that value's characters: the
team's comments, order and formatting stay as they were, so the commit's diff is one line. Pure."""

from __future__ import annotations

import yaml

from shipit.core.errors import BadInput


def _compose(text: str, source: str) -> yaml.Node:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        raise BadInput(f"{source}: not valid YAML ({e})") from None
    if not isinstance(node, yaml.MappingNode):
        raise BadInput(f"{source}: expected a mapping at the top")
    return node


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _replace(text: str, node: yaml.ScalarNode, value: str) -> str:
    quoted = value if yaml.safe_load(value) == value and value.strip() == value else yaml.safe_dump(value).strip()
    if node.style in ("'", '"'):
        quoted = f'{node.style}{value}{node.style}'
    return text[:node.start_mark.index] + quoted + text[node.end_mark.index:]


def tag_of(image: str) -> str:
    """`reg:5000/shop:abc` -> `abc`."""
    name = image.split("@", 1)[0]
    if name.rfind(":") <= name.rfind("/"):
        raise BadInput(f"image {image} has no tag to write into the GitOps repository")
    return name[name.rfind(":") + 1:]


def set_values_key(text: str, dotted: str, value: str, *, source: str) -> str:
    """`image.tag: old` -> `image.tag: value`; a missing key is an error (a typo must not add a new one)."""
    node: yaml.Node | None = _compose(text, source)
    for part in dotted.split("."):
        node = _child(node, part)
        if node is None:
            raise BadInput(f"{source}: key {dotted} not found (code.gitops.key)")
    if not isinstance(node, yaml.ScalarNode):
        raise BadInput(f"{source}: {dotted} is not a plain value")
    return _replace(text, node, value)


def get_values_key(text: str, dotted: str, *, source: str) -> str:
    node: yaml.Node | None = _compose(text, source)
    for part in dotted.split("."):
        node = _child(node, part)
        if node is None:
            raise BadInput(f"{source}: key {dotted} not found (code.gitops.key)")
    return str(yaml.safe_load(yaml.serialize(node)))


def set_kustomize_image(text: str, name: str, tag: str, *, source: str) -> str:
    """The `images:` entry named `name` gets `newTag: tag` (a digest pin is dropped); the entry is added when absent."""
    root = _compose(text, source)
    images = _child(root, "images")
    entry = None
    if isinstance(images, yaml.SequenceNode):
        entry = next((e for e in images.value if isinstance(e, yaml.MappingNode)
                      and getattr(_child(e, "name"), "value", None) == name), None)
    new_tag, digest = (_child(entry, "newTag"), _child(entry, "digest")) if entry is not None else (None, None)
    if isinstance(new_tag, yaml.ScalarNode) and digest is None:
        return _replace(text, new_tag, tag)
    data = yaml.safe_load(text)  # rare shapes (no entry, a digest pin): rewritten whole, comments lost
    entries = [e for e in data.get("images") or [] if e.get("name") != name]
    kept = next((e for e in data.get("images") or [] if e.get("name") == name), {})
    entries.append({**{k: v for k, v in kept.items() if k != "digest"}, "name": name, "newTag": tag})
    data["images"] = entries
    return yaml.safe_dump(data, sort_keys=False)

