"""Picking the code strategy from the config, what a failed server-side apply means, and Helm's pure parts: the
values it sets and the migrate hooks preflight refuses."""

from __future__ import annotations

import dataclasses

import pytest

from shipit.adapters.code.gitops import GitOpsStrategy
from shipit.adapters.code.helm import HelmStrategy, migrate_hooks, set_flags
from shipit.adapters.code.kubectl import apply_failure
from shipit.adapters.code.manifests import ManifestsStrategy
from shipit.adapters.code.select import strategy_for
from shipit.core.config_code import CodeConfig, CodeStrategy, GitOpsConfig, GitOpsKind, HelmConfig
from tests.support.kube_snapshots import make_config

CODE = {
    CodeStrategy.IMAGE: CodeConfig(),
    CodeStrategy.MANIFESTS: CodeConfig(strategy=CodeStrategy.MANIFESTS, path="deploy"),
    CodeStrategy.KUSTOMIZE: CodeConfig(strategy=CodeStrategy.KUSTOMIZE, path="deploy"),
    CodeStrategy.HELM: CodeConfig(strategy=CodeStrategy.HELM, helm=HelmConfig(release="shop", chart="chart")),
    CodeStrategy.GITOPS: CodeConfig(strategy=CodeStrategy.GITOPS, gitops=GitOpsConfig(
        repo="/srv/deploy.git", path="k.yaml", kind=GitOpsKind.KUSTOMIZE_IMAGES)),
}
EXPECTED = {CodeStrategy.IMAGE: type(None), CodeStrategy.MANIFESTS: ManifestsStrategy,
            CodeStrategy.KUSTOMIZE: ManifestsStrategy, CodeStrategy.HELM: HelmStrategy,
            CodeStrategy.GITOPS: GitOpsStrategy}


@pytest.mark.parametrize("strategy", list(CodeStrategy), ids=lambda s: s.value)
def test_each_strategy_has_its_adapter_and_image_keeps_the_orchestrators_rollout(strategy):
    cfg = dataclasses.replace(make_config(), code=CODE[strategy])
    port = strategy_for(cfg, kube=None, release_id="r0001", to_sha="a" * 40)
    assert type(port) is EXPECTED[strategy]
    if isinstance(port, GitOpsStrategy):
        port.close()


def test_helm_values_are_set_from_templates():
    assert set_flags((("image.tag", "{sha}"), ("worker.tag", "v-{short_sha}")), "abcdef0123" + "0" * 30) == [
        "--set=image.tag=abcdef0123" + "0" * 30, "--set=worker.tag=v-abcdef0"]


def job(name, hook, command):
    return {"kind": "Job", "metadata": {"name": name, "annotations": {"helm.sh/hook": hook} if hook else {}},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "shop", "command": command}]}}}}


def test_a_pre_upgrade_hook_running_db_migrate_is_found_and_others_are_not():
    objects = [job("migrate", "pre-install,pre-upgrade", ["bin/rails", "db:migrate"]),
               job("seed", "post-install", ["bin/rails", "db:migrate"]),
               job("assets", "pre-upgrade", ["bin/rails", "assets:precompile"]),
               job("plain", None, ["bin/rails", "db:migrate"])]
    assert migrate_hooks(objects) == ("Job/migrate",)
    assert migrate_hooks([job("sh", "pre-upgrade", ["sh", "-c", "bundle exec rake db:migrate"])]) == ("Job/sh",)


CONFLICT = ('Apply failed with 1 conflict: conflict with "{}" using apps/v1: .spec.template.spec.containers[name="web"]'
            '.image\nPlease review the fields above--they currently have other managers.')


@pytest.mark.parametrize("stderr, meaning", [
    ("error: " + CONFLICT.format("shipit"), "own"),
    (CONFLICT.format("shipit") + "\n" + CONFLICT.format("shipit").replace('"web"', '"worker"'), "own"),
    ('error: Apply failed with 2 conflicts: conflicts with "shipit" using apps/v1:\n- .spec.replicas', "own"),
    ("error: " + CONFLICT.format("kubectl-client-side-apply"), "conflict"),
    (CONFLICT.format("shipit") + "\n" + CONFLICT.format("helm"), "conflict"),
    (CONFLICT.format("shipit") + '\nError from server (Forbidden): cronjobs.batch "nightly" is forbidden: User '
     '"system:serviceaccount:default:shipit" cannot create resource "cronjobs"', "refused"),
    ('error: unable to recognize "STDIN": no matches for kind "Widget"', "other"),
])
def test_a_failed_apply_is_forced_only_over_shipits_own_fields_and_a_refusal_is_not_a_conflict(stderr, meaning):
    assert apply_failure(stderr) == meaning
