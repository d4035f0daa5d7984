"""Object snapshots shaped like the API server's status answers for pods, Jobs and Deployments, and a Config."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shipit.core.config import (
    Config,
    DatabaseConfig,
    DeploymentConfig,
    ImageConfig,
    KubernetesConfig,
    MigrationConfig,
    RolloutConfig,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def ts(seconds_ago: float = 0.0) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_config(*, namespace: str = "default", deployments=(("web", ()),), ready_grace: float = 60.0, timeout: float = 1800.0,
                command=("bin/rails", "db:migrate"), repository: str = "registry.example.com/shop") -> Config:
    return Config(
        app="shop",
        repo=Path("."),
        kubernetes=KubernetesConfig(namespace=namespace),
        image=ImageConfig(repository=repository),
        deployments=tuple(DeploymentConfig(name=n, containers=tuple(c)) for n, c in deployments),
        migration=MigrationConfig(from_deployment=deployments[0][0], container="web", command=tuple(command), timeout=timeout),
        database=DatabaseConfig(url="mysql://root@127.0.0.1:3306/shop"),
        rollout=RolloutConfig(timeout=60.0, ready_grace=ready_grace),
    )


def pod(name: str = "web-7d4b9c8f5-abcde", *, phase: str = "Running", containers=None, conditions=None, restart_policy="Always",
        node: str | None = "fake-node-1", owner_uid: str | None = None, reason: str | None = None, message: str | None = None,
        deleting: bool = False, start_ago: float = 30.0) -> dict:
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": ts(start_ago + 1)}
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner_uid, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = ts(0)
    spec = {"restartPolicy": restart_policy, "containers": [{"name": "web", "image": "shop:v2"}]}
    if node:
        spec["nodeName"] = node
    status = {"phase": phase, "qosClass": "BestEffort", "conditions": conditions or [], "startTime": ts(start_ago)}
    if containers is not None:
        status["containerStatuses"] = containers
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return {"metadata": meta, "spec": spec, "status": status}


def cstatus(*, state: dict, last: dict | None = None, ready: bool = False, restarts: int = 0, name: str = "web") -> dict:
    return {"name": name, "image": "shop:v2", "imageID": "", "ready": ready, "restartCount": restarts, "started": "running" in state,
            "state": state, "lastState": last or {}}


def running(ago: float = 20.0) -> dict:
    return {"running": {"startedAt": ts(ago)}}


def waiting(reason: str, message: str = "") -> dict:
    w = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def terminated(code: int, reason: str = "Error") -> dict:
    return {"terminated": {"exitCode": code, "reason": reason, "startedAt": ts(5), "finishedAt": ts(1), "containerID": "containerd://" + "a" * 64}}


def cond(type_: str, status: str, reason: str | None = None, message: str | None = None, ago: float = 10.0) -> dict:
    c = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": ts(ago)}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def deployment(name: str = "web", *, generation: int = 2, observed: int = 2, replicas: int = 3, updated: int = 3, total: int = 3,
               available: int = 3, ready: int = 3, uid: str = "dep-uid", revision: str = "2", image: str = "shop:v2",
               conditions=None, paused: bool = False) -> dict:
    status = {"observedGeneration": observed, "replicas": total, "updatedReplicas": updated, "availableReplicas": available,
              "readyReplicas": ready, "conditions": conditions or []}
    status = {k: v for k, v in status.items() if v not in (0, None)}  # counters are omitted when 0
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "web", "image": image}]}}}
    if paused:
        spec["paused"] = True
    return {"metadata": {"name": name, "uid": uid, "generation": generation, "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": spec, "status": status}


def replicaset(dep: dict, *, uid: str, revision: str, image: str) -> dict:
    template = copy.deepcopy(dep["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = f"h{uid}"
    template["spec"]["containers"][0]["image"] = image
    return {"metadata": {"name": f"{dep['metadata']['name']}-h{uid}", "uid": uid,
                         "annotations": {"deployment.kubernetes.io/revision": revision},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"],
                                              "uid": dep["metadata"]["uid"], "controller": True}]},
            "spec": {"replicas": 1, "template": template}, "status": {"replicas": 1}}
