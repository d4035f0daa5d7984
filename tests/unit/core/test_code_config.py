"""The `code:` block: which strategy ships the code and its settings; every error names the key and its line."""

import pytest

from shipit.core import config
from shipit.core.config_code import CodeStrategy, GitOpsKind
from shipit.core.errors import ConfigError
from tests.unit.core.test_config import EXAMPLE, MINIMAL

ENV = {"SHIPIT_DB_PASSWORD": "pw"}


def parse(code: str):
    return config.parse(MINIMAL + code, env={})


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate((MINIMAL + text).splitlines(), 1) if needle in line)


def test_image_is_the_default_and_the_example_parses():
    assert parse("").code.strategy is CodeStrategy.IMAGE
    assert config.load(EXAMPLE, env=ENV).code.strategy is CodeStrategy.IMAGE


@pytest.mark.parametrize("strategy", ["manifests", "kustomize"])
def test_manifests_and_kustomize_take_a_path_and_prune(strategy):
    cfg = parse(f"code:\n  strategy: {strategy}\n  path: deploy/production\n  prune: true\n").code
    assert (cfg.strategy.value, cfg.path, cfg.prune) == (strategy, "deploy/production", True)
    assert parse(f"code:\n  strategy: {strategy}\n  path: deploy\n").code.prune is False


def test_helm_release_chart_and_values():
    cfg = parse('code:\n  strategy: helm\n  helm:\n    release: shop\n    chart: deploy/chart\n'
                '    values: {image.tag: "{short_sha}", worker.image.tag: "{sha}"}\n').code
    assert cfg.helm.release == "shop" and cfg.helm.chart == "deploy/chart"
    assert cfg.helm.values == (("image.tag", "{short_sha}"), ("worker.image.tag", "{sha}"))
    assert parse("code:\n  strategy: helm\n  helm: {release: shop, chart: c}\n").code.helm.values == (
        ("image.tag", "{sha}"),)


def test_gitops_kustomize_images_and_values_key():
    cfg = parse("code:\n  strategy: gitops\n  gitops:\n    repo: /srv/deploy.git\n    path: prod/kustomization.yaml\n"
                "    kind: kustomize-images\n").code.gitops
    assert (cfg.repo, cfg.path, cfg.kind, cfg.key, cfg.branch) == (
        "/srv/deploy.git", "prod/kustomization.yaml", GitOpsKind.KUSTOMIZE_IMAGES, None, "main")
    cfg = parse("code:\n  strategy: gitops\n  gitops:\n    repo: r\n    path: values.yaml\n    kind: values-key\n"
                "    key: image.tag\n    branch: prod\n").code.gitops
    assert cfg.kind is GitOpsKind.VALUES_KEY and cfg.key == "image.tag" and cfg.branch == "prod"


@pytest.mark.parametrize("code, message, needle", [
    ("code:\n  strategy: argo\n", "code.strategy (line {}): expected one of image, manifests, kustomize, helm, gitops",
     "strategy: argo"),
    ("code:\n  strategy: kustomize\n", "code.path: required with code.strategy: kustomize (line {})",
     "strategy: kustomize"),  # a block's line is its first key's
    ("code:\n  path: deploy\n", "code.path (line {}): only used with code.strategy manifests or kustomize, not image",
     "path: deploy"),
    ("code:\n  strategy: manifests\n  path: d\n  helm: {release: a, chart: b}\n",
     "code.helm (line {}): only used with code.strategy helm, not manifests", "helm:"),
    ("code:\n  strategy: helm\n  helm:\n    chart: c\n", "code.helm.release: required key is missing (line {})",
     "chart: c"),
    ("code:\n  strategy: gitops\n  gitops:\n    repo: r\n    path: p\n    kind: values-key\n",
     "code.gitops.key: required with code.gitops.kind: values-key (line {})", "repo: r"),
    ("code:\n  strategy: gitops\n  gitops:\n    repo: r\n    path: p\n    kind: jsonnet\n",
     "code.gitops.kind (line {}): expected one of kustomize-images, values-key", "kind: jsonnet"),
    ("code:\n  strategy: kustomize\n  path: d\n  prune: yes please\n", "code.prune (line {}): expected true or false",
     "prune:"),
    ("code:\n  stratgy: kustomize\n", "code.stratgy (line {}): unknown key", "stratgy"),
])
def test_errors_name_the_key_and_line(code, message, needle):
    with pytest.raises(ConfigError) as e:
        parse(code)
    assert message.format(line_of(code, needle)) in str(e.value)
