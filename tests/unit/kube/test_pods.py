"""classify_pod over the pod status shapes the kubelet reports: each failure mode, its grace, and what is fatal."""

import pytest

from shipit.kube.pods import PodState, classify_pod
from tests.support.kube_snapshots import NOW, cond, cstatus, pod, running, terminated, waiting


def verdict(p, *, ready_grace=60.0, unschedulable_grace=10.0):
    return classify_pod(p, now=NOW, ready_grace=ready_grace, unschedulable_grace=unschedulable_grace)


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_image_pull_is_fatal(reason):
    p = pod(phase="Pending", containers=[cstatus(state=waiting(reason, 'Back-off pulling image "shop:nope"'))])
    v = verdict(p)
    assert (v.state, v.reason, v.fatal, v.container) == (PodState.IMAGE_PULL, reason, True, "web")
    assert "shop:nope" in v.message


def test_crash_loop_carries_last_exit_code():
    p = pod(containers=[cstatus(state=waiting("CrashLoopBackOff", "back-off 10s restarting failed container=web"), last=terminated(3), restarts=2)])
    v = verdict(p)
    assert (v.state, v.exit_code, v.fatal) == (PodState.CRASH_LOOP, 3, True)


def test_oom_in_crash_loop_is_oom():
    p = pod(containers=[cstatus(state=waiting("CrashLoopBackOff"), last=terminated(137, "OOMKilled"), restarts=1)])
    assert verdict(p).state is PodState.OOM_KILLED


def test_first_crash_of_a_serving_pod_is_fatal_before_back_off():
    p = pod(containers=[cstatus(state=terminated(1))])
    v = verdict(p)
    assert (v.state, v.exit_code, v.fatal) == (PodState.CRASH_LOOP, 1, True)


def test_config_error():
    p = pod(phase="Pending", containers=[cstatus(state=waiting("CreateContainerConfigError", 'secret "db-creds" not found'))])
    v = verdict(p)
    assert (v.state, v.fatal) == (PodState.CONFIG_ERROR, True)
    assert 'secret "db-creds"' in v.message


def test_unschedulable_waits_for_grace_then_fatal():
    unsched = cond("PodScheduled", "False", "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu.", ago=5)
    p = pod(phase="Pending", node=None, conditions=[unsched])
    assert verdict(p, unschedulable_grace=10).fatal is False
    v = verdict(p, unschedulable_grace=3)
    assert (v.state, v.fatal) == (PodState.UNSCHEDULABLE, True)
    assert "Insufficient cpu" in v.message


def test_not_ready_after_grace():
    unready = cond("Ready", "False", "ContainersNotReady", "containers with unready status: [web]")
    p = pod(containers=[cstatus(state=running(ago=20))], conditions=[unready])
    assert verdict(p, ready_grace=60).state is PodState.STARTING
    v = verdict(p, ready_grace=15)
    assert (v.state, v.fatal) == (PodState.NOT_READY, True)
    assert "unready status" in v.message


def test_ready_pod():
    p = pod(containers=[cstatus(state=running(), ready=True)], conditions=[cond("Ready", "True")])
    assert verdict(p) == verdict(p) and verdict(p).state is PodState.READY and not verdict(p).fatal


def test_eviction():
    p = pod(phase="Failed", reason="Evicted", message="The node was low on resource: memory.", containers=[cstatus(state=terminated(137))])
    v = verdict(p)
    assert (v.state, v.fatal) == (PodState.EVICTED, True)


def test_job_pod_exits_non_zero():
    p = pod(phase="Failed", restart_policy="Never", containers=[cstatus(state=terminated(1))])
    v = verdict(p)
    assert (v.state, v.exit_code, v.fatal, v.container) == (PodState.FAILED, 1, True, "web")


def test_oom_killed_job_pod():
    p = pod(phase="Failed", restart_policy="Never", containers=[cstatus(state=terminated(137, "OOMKilled"))])
    assert verdict(p).state is PodState.OOM_KILLED


def test_deadline_exceeded_pod():
    p = pod(phase="Failed", restart_policy="Never", reason="DeadlineExceeded", message="Pod was active on the node longer than the specified deadline")
    v = verdict(p)
    assert (v.state, v.reason, v.fatal) == (PodState.FAILED, "DeadlineExceeded", True)


def test_job_pod_running_and_succeeded():
    assert verdict(pod(restart_policy="Never", containers=[cstatus(state=running())])).state is PodState.RUNNING
    assert verdict(pod(phase="Succeeded", restart_policy="Never", containers=[cstatus(state=terminated(0, "Completed"))])).state is PodState.SUCCEEDED


def test_pending_and_creating_are_not_fatal():
    assert verdict(pod(phase="Pending", node=None)).state is PodState.PENDING
    v = verdict(pod(phase="Pending", containers=[cstatus(state=waiting("ContainerCreating"))]))
    assert (v.state, v.reason, v.fatal) == (PodState.STARTING, "ContainerCreating", False)


def test_terminating():
    p = pod(deleting=True, containers=[cstatus(state=running(), ready=True)], conditions=[cond("Ready", "True")])
    assert verdict(p).state is PodState.TERMINATING


def test_accepts_client_models():
    from kubernetes.client import ApiClient

    p = pod(phase="Pending", containers=[cstatus(state=waiting("ErrImagePull"))])
    model = ApiClient()._ApiClient__deserialize(p, "V1Pod")
    assert verdict(model).state is PodState.IMAGE_PULL
