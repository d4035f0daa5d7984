"""What a release applied, as data: object references, the render carried by the release record (compressed), the
objects a render dropped, and the verdict over every applied object by its kind's rule. Pure.

An object's rollout is only complete once the live object carries the images that were applied: a CronJob's
template, a GitOps controller applying the commit, or another actor putting an old image back all show here."""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from collections.abc import Iterable
from datetime import datetime

from shipit.kube.rollout import RolloutState, decide_rollout
from shipit.kube.workloads import KindVerdict, Verdict, kind_of

_ROLLOUT_VERDICT = {RolloutState.PROGRESSING: Verdict.PROGRESSING, RolloutState.COMPLETE: Verdict.COMPLETE,
                    RolloutState.FAILED: Verdict.FAILED}


@dataclasses.dataclass(frozen=True, order=True)
class Ref:
    kind: str
    name: str
    api_version: str = dataclasses.field(default="", compare=False)  # v1beta1 and v1 name the same object

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"

    @classmethod
    def of(cls, obj: dict) -> "Ref":
        return cls(obj.get("kind", ""), obj["metadata"]["name"], obj.get("apiVersion", ""))


def _recordable(obj: dict) -> dict:
    if obj.get("kind") != "Secret":
        return obj
    return {k: v for k, v in obj.items() if k not in ("data", "stringData")}  # secret values are never recorded


def pack(objects: Iterable[dict]) -> str:
    """Objects as the release record carries them: JSON, zlib, base64. Secrets keep only their metadata."""
    data = json.dumps([_recordable(o) for o in objects], sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(data, 9)).decode()


def unpack(packed: str) -> tuple[dict, ...]:
    return tuple(json.loads(zlib.decompress(base64.b64decode(packed))))


def dropped(previous: Iterable[dict], current: Iterable[dict]) -> tuple[Ref, ...]:
    """Objects the previous render had and this one lacks (candidates for pruning)."""
    now = set(map(Ref.of, current))
    return tuple(sorted(r for r in map(Ref.of, previous) if r not in now))


def images_of(obj: dict) -> dict[str, str]:
    return kind_of(obj).images(obj)


def decide_object(applied: dict, live: dict | None, replicasets: list[dict], pods: list[dict], *, now: datetime,
                  ready_grace: float) -> KindVerdict:
    """One applied object: present, carrying the applied images, then its kind's rollout rule."""
    ref = Ref.of(applied)
    if live is None:
        return KindVerdict(ref.kind, ref.name, Verdict.PROGRESSING, "not found in the cluster yet")
    want, have = images_of(applied), images_of(live)
    stale = {c: i for c, i in want.items() if have.get(c) != i}
    if stale:
        c, image = sorted(stale.items())[0]
        return KindVerdict(ref.kind, ref.name, Verdict.PROGRESSING,
                           f"container {c} runs {have.get(c, 'nothing')}, waiting for {image}")
    if ref.kind == "Deployment":
        d = decide_rollout(live, replicasets, pods, now=now, ready_grace=ready_grace)
        return KindVerdict(ref.kind, ref.name, _ROLLOUT_VERDICT[d.state], d.message, d.failing)
    return kind_of(live).decide(live, pods, now, ready_grace)


def decide_all(applied: Iterable[dict], live: dict[Ref, dict], replicasets: list[dict], pods: list[dict], *,
               now: datetime, ready_grace: float) -> tuple[KindVerdict, ...]:
    return tuple(decide_object(o, live.get(Ref.of(o)), replicasets, pods, now=now, ready_grace=ready_grace)
                 for o in applied)
