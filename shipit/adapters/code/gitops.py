"""`code.strategy: gitops`: the new image tag is committed to the GitOps repository and pushed (GitPython); whoever
applies that repository (Argo CD, Flux) changes the cluster, and shipit waits until the workloads carry the image
and watches them by their kinds' rules. Revert is a revert commit, pushed and waited for the same way.

What is watched: with `kustomize-images`, every object the kustomization renders at the commit; with `values-key`
(a chart shipit cannot render), the configured Deployments, expected to run the tag the values file holds."""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from shipit.adapters.code.kubectl import Kubectl
from shipit.adapters.code.port import Applied, Outcome
from shipit.adapters.code.render import parse_manifests
from shipit.adapters.code.watch import watch
from shipit.adapters.code.yaml_edit import get_values_key, set_kustomize_image, set_values_key, tag_of
from shipit.core.config_code import GitOpsKind
from shipit.core.errors import BadInput, ShipitError
from shipit.core.log import get_logger
from shipit.kube.workloads import set_image

log = get_logger()
AUTHOR = ("shipit", "shipit@localhost")


class GitOpsStrategy:
    def __init__(self, kube: Any, cfg: Any, *, release_id: str, applied_revision: str = "",
                 kubectl: Kubectl | None = None, on_progress=None):
        """`applied_revision`: the commit this release pushed, from the record when a crashed release resumes."""
        self.kube, self.cfg, self.g = kube, cfg, cfg.code.gitops
        self.release_id = release_id
        self.applied_revision = applied_revision
        self.kubectl = kubectl or Kubectl(cfg.kubernetes)
        self.on_progress = on_progress
        self._dir = Path(tempfile.mkdtemp(prefix="shipit-gitops-"))
        self._repo = None

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- the repository ----------------------------------------------------------------------------------------

    def _checkout(self):
        import git

        try:
            if self._repo is None:
                self._repo = git.Repo.clone_from(self.g.repo, self._dir / "repo", branch=self.g.branch)
                with self._repo.config_writer() as w:  # revert commits are shipit's, not the machine user's
                    w.set_value("user", "name", AUTHOR[0]).set_value("user", "email", AUTHOR[1])
            else:
                self._repo.remotes.origin.fetch()
                self._repo.git.reset("--hard", f"origin/{self.g.branch}")
        except git.GitCommandError as e:
            raise BadInput(f"code.gitops.repo: cannot fetch branch {self.g.branch} of {self.g.repo}: "
                           f"{e.stderr.strip()}") from None
        return self._repo

    def _file(self) -> Path:
        path = (self._dir / "repo" / self.g.path).resolve()
        if not path.is_relative_to((self._dir / "repo").resolve()) or not path.is_file():
            raise BadInput(f"code.gitops.path: {self.g.path} is not a file on branch {self.g.branch} of {self.g.repo}")
        return path

    def _push(self, repo) -> None:
        import git

        try:
            infos = repo.remotes.origin.push(f"HEAD:refs/heads/{self.g.branch}")
            infos.raise_if_error()
            bad = git.PushInfo.REJECTED | git.PushInfo.REMOTE_REJECTED | git.PushInfo.ERROR
            rejected = [i.summary.strip() for i in infos if i.flags & bad]
            if rejected:
                raise git.GitCommandError("push", 1, "; ".join(rejected))
        except git.GitCommandError as e:
            raise ShipitError(f"push to {self.g.repo} ({self.g.branch}) was rejected: {str(e.stderr).strip()}; someone "
                              f"pushed meanwhile or the branch is protected. Nothing in the cluster changed; "
                              f"release again") from None

    def _commit(self, repo, message: str) -> str:
        import git

        actor = git.Actor(*AUTHOR)
        return repo.index.commit(message, author=actor, committer=actor).hexsha

    # --- what the cluster must end up running -------------------------------------------------------------------

    def _name(self) -> str:
        return self.g.key or self.cfg.image.repository

    def expected(self) -> tuple[dict, ...]:
        """The objects the checked-out commit leads to, with the images they must run."""
        text = self._file().read_text()
        if self.g.kind is GitOpsKind.KUSTOMIZE_IMAGES:
            return tuple(parse_manifests(self.kubectl.kustomize(self._file().parent), f"kubectl kustomize {self.g.path}"))
        image = f"{self.cfg.image.repository}:{get_values_key(text, self.g.key, source=self.g.path)}"
        out = []
        for dep in self.cfg.deployments:
            live = self.kube.get_json(self.kube.apps.read_namespaced_deployment, dep.name, self.kube.namespace)
            want = copy.deepcopy(live)
            set_image(want, self.cfg.image.repository, image)
            out.append(want)
        return tuple(out)

    # --- the port -----------------------------------------------------------------------------------------------

    def _edited(self, image: str) -> tuple[str, str]:
        """(the file now, the file with the release's tag)."""
        text, tag = self._file().read_text(), tag_of(image)
        if self.g.kind is GitOpsKind.KUSTOMIZE_IMAGES:
            return text, set_kustomize_image(text, self._name(), tag, source=self.g.path)
        return text, set_values_key(text, self.g.key, tag, source=self.g.path)

    def preflight(self, image: str) -> None:
        """Before anything changes: the repository and branch can be fetched and the file takes the tag."""
        self._checkout()
        self._edited(image)

    def apply(self, image: str) -> Applied:
        repo = self._checkout()
        f = self._file()
        text, new = self._edited(image)
        tag = tag_of(image)
        if new != text:
            f.write_text(new)
            repo.index.add([self.g.path])
            self.applied_revision = self._commit(repo, f"shipit: {self.cfg.app} {tag} (release {self.release_id})")
            self._push(repo)
            log.info("gitops commit pushed", repo=self.g.repo, branch=self.g.branch, commit=self.applied_revision,
                     tag=tag)
        else:
            self.applied_revision = ""  # the repository already names this tag: nothing to commit or revert
        return Applied(self.expected(), revision=self.applied_revision)

    def watch(self, applied: Applied, *, timeout: float, cancel: threading.Event | None = None) -> Outcome:
        return watch(self.kube, applied.objects, timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     cancel=cancel, on_progress=self.on_progress)

    def revert(self, previous: Applied, *, timeout: float) -> Outcome:
        """A revert commit of this release's commit, pushed; then the cluster is waited for as after `apply`."""
        repo = self._checkout()
        if self.applied_revision:
            import git

            try:
                repo.git.revert("--no-edit", self.applied_revision)
            except git.GitCommandError as e:
                raise ShipitError(f"git revert {self.applied_revision[:12]} failed in {self.g.repo}: "
                                  f"{e.stderr.strip()}; revert it by hand") from None
            self._push(repo)
            log.info("gitops revert pushed", repo=self.g.repo, reverted=self.applied_revision,
                     commit=repo.head.commit.hexsha)
        return watch(self.kube, self.expected(), timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     on_progress=self.on_progress, reverting=True)
