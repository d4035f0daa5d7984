"""The production ports for one `shipit release` or `shipit rollback`: each adapter built once, sharing one
Kubernetes client and one set of database connections, closed at the end."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from shipit.core.config import Config
from shipit.release.ports import Ports


@contextlib.contextmanager
def real_ports(cfg: Config, *, view: Any = None, kube: Any = None) -> Iterator[Ports]:
    from shipit.adapters.cluster import KubeCluster
    from shipit.adapters.database import MysqlDatabase
    from shipit.adapters.gates import HealthGates
    from shipit.adapters.git_revert import GitReverter
    from shipit.adapters.lease import KubeLease
    from shipit.adapters.notify.listener import ReleaseNotifiers
    from shipit.adapters.planner import GitPlanner
    from shipit.adapters.records import KubeRecords
    from shipit.kube.client import Kube
    from shipit.report.live import PlainView

    view = view or PlainView()
    kube = kube or Kube.from_config(cfg.kubernetes)
    database = MysqlDatabase(cfg, view)
    cluster = KubeCluster(cfg, kube, view, database)
    try:
        yield Ports(
            records=KubeRecords(kube, cfg.app, keep=cfg.records.keep),
            lease=KubeLease(kube, cfg),
            planner=GitPlanner(cfg, applied=database.applied_versions, deployments=cluster.boot_commands),
            database=database,
            cluster=cluster,
            gates=HealthGates(cfg, view, database),
            git=GitReverter(cfg),
            notify=ReleaseNotifiers.from_config(cfg),
        )
    finally:
        database.close()
