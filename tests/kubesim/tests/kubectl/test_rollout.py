"""Section 14 item 8 and the issue's rollout acceptance: kubectl rollout status/history/undo/pause/resume/restart,
scale and set image against the Deployment and ReplicaSet controllers, and the same rollouts through
the python client."""

from __future__ import annotations

import json

from kubernetes import watch

from tests.kubesim.tests.kubectl.conftest import deployment_yaml, get_json, wait_for

DEADLINE = 40     # cluster seconds = 2 s real at SPEED 20


def roll_to(cluster, image: str, cause: str) -> None:
    """One request changing the template image and the change-cause annotation (strategic merge, containers by
    name), like `kubectl set image` + `--record` used to."""
    cluster.kubectl("patch", "deploy", "web", "-p", json.dumps({
        "metadata": {"annotations": {"kubernetes.io/change-cause": cause}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}))


def history_rows(cluster) -> list[tuple[str, str]]:
    out = cluster.kubectl("rollout", "history", "deploy/web").stdout.splitlines()
    assert out[0] == "deployment.apps/web " and out[1].split() == ["REVISION", "CHANGE-CAUSE"], out
    return [tuple(line.split(None, 1)) for line in out[2:] if line.strip()]


def status(cluster, *extra: str, timeout: str = "60s"):
    return cluster.kubectl("rollout", "status", "deploy/web", f"--timeout={timeout}", *extra, check=False)


def test_K9_K11_rollout_deadline_exceeded_then_undo_and_history(cluster, api):
    """Acceptance: a rollout to a `-missing` image fails `rollout status` with the real message, `rollout undo`
    restores the previous template and `rollout history` lists the revisions."""
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2, deadline=DEADLINE))
    ok = status(cluster)
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'
    roll_to(cluster, "web:v2", "to v2")
    assert status(cluster).returncode == 0
    roll_to(cluster, "web:v3-missing", "to v3")
    failed = status(cluster)
    assert failed.returncode == 1
    assert failed.stderr.strip() == 'error: deployment "web" exceeded its progress deadline'
    assert 'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...' \
        in failed.stdout
    d = get_json(cluster, "deploy", "web")
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    new_rs = f"web-{d['spec']['template']['metadata']['labels'].get('pod-template-hash', '')}"
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].startswith('ReplicaSet "web-') and \
        progressing["message"].endswith('" has timed out progressing.'), (progressing, new_rs)
    assert d["status"]["availableReplicas"] == 2 and d["status"]["updatedReplicas"] == 1   # old pods kept
    assert history_rows(cluster) == [("1", "<none>"), ("2", "to v2"), ("3", "to v3")]

    undo = cluster.kubectl("rollout", "undo", "deploy/web")
    assert undo.stdout.strip() == "deployment.apps/web rolled back"
    assert status(cluster).returncode == 0
    d = get_json(cluster, "deploy", "web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "web:v2"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert history_rows(cluster) == [("1", "<none>"), ("3", "to v3"), ("4", "to v2")]   # 2 became 4
    rss = {rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
           for rs in api.apps.list_namespaced_replica_set("default", label_selector="app=web").items}
    assert rss["4"].metadata.annotations["deployment.kubernetes.io/revision-history"] == "2"
    assert rss["4"].spec.replicas == 2 and rss["3"].spec.replicas == 0 and rss["1"].spec.replicas == 0


def test_K10_history_revision_detail_and_errors(cluster):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml())
    assert status(cluster).returncode == 0
    roll_to(cluster, "web:v2", "to v2")
    assert status(cluster).returncode == 0
    detail = cluster.kubectl("rollout", "history", "deploy/web", "--revision=1").stdout
    assert detail.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert "pod-template-hash=" in detail and "Image:\tweb:v1" in detail.replace("      ", "\t").replace("  ", "")
    missing = cluster.kubectl("rollout", "history", "deploy/web", "--revision=9", check=False)
    assert missing.returncode == 1 and "unable to find the specified revision" in missing.stderr
    bad_undo = cluster.kubectl("rollout", "undo", "deploy/web", "--to-revision=9", check=False)
    assert bad_undo.returncode == 1 and "unable to find specified revision 9 in history" in bad_undo.stderr
    same = cluster.kubectl("rollout", "undo", "deploy/web", "--to-revision=2")
    assert "skipped rollback (current template already matches revision 2)" in same.stdout
    wrong = status(cluster, "--revision=5")
    assert wrong.returncode == 1
    assert "desired revision (5) is different from the running revision (2)" in wrong.stderr
    once = status(cluster, "--watch=false")
    assert once.returncode == 0 and once.stdout.strip() == 'deployment "web" successfully rolled out'


def test_K9_rollout_status_times_out_while_waiting(cluster):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(image="web:v1-unready"))
    late = status(cluster, timeout="2s")
    assert late.returncode == 1 and late.stderr.strip() == "error: timed out waiting for the condition"
    assert 'Waiting for deployment "web" rollout to finish: 0 of 1 updated replicas are available...' in late.stdout


def test_K7_K12_pause_resume_restart_and_undo_while_paused(cluster, api):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    assert status(cluster).returncode == 0
    roll_to(cluster, "web:v2", "to v2")
    assert status(cluster).returncode == 0
    cluster.kubectl("rollout", "pause", "deploy/web")
    cluster.kubectl("set", "image", "deploy/web", "web=web:v3")
    d = wait_for(lambda: (d := get_json(cluster, "deploy", "web"))["status"].get("observedGeneration") ==
                 d["metadata"]["generation"] and d)
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    assert len(api.apps.list_namespaced_replica_set("default").items) == 2, "paused: no new ReplicaSet"
    paused_undo = cluster.kubectl("rollout", "undo", "deploy/web", check=False)
    assert paused_undo.returncode == 1 and "you cannot rollback a paused deployment; resume it first with " \
                                           "'kubectl rollout resume' and try again" in paused_undo.stderr
    cluster.kubectl("rollout", "resume", "deploy/web")
    assert status(cluster).returncode == 0
    assert len(api.apps.list_namespaced_replica_set("default").items) == 3
    cluster.kubectl("rollout", "restart", "deploy/web")
    assert status(cluster).returncode == 0
    d = get_json(cluster, "deploy", "web")
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"


def test_P4_kubectl_scale_and_python_scale_subresource(cluster, api):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml())
    out = cluster.kubectl("scale", "deploy/web", "--replicas=3")
    assert out.stdout.strip() == "deployment.apps/web scaled"
    assert status(cluster).returncode == 0
    scale = api.apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 3 and scale.status.replicas == 3 and scale.status.selector == "app=web"
    api.apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 1}})
    wait_for(lambda: len([p for p in api.core.list_namespaced_pod("default").items
                          if not p.metadata.deletion_timestamp]) == 1, what="scaled down to one pod")


def test_K1_K3_python_rollout_watch_to_completion(cluster, api):
    """The python client's view: status counters, generation/observedGeneration, condition reasons, RS ownership."""
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=3))
    assert status(cluster).returncode == 0
    d = api.apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "web:v2"}]}}}})
    assert d.metadata.generation == 2
    reasons = []
    for event in watch.Watch().stream(api.apps.list_namespaced_deployment, "default", timeout_seconds=60,
                                      field_selector="metadata.name=web", resource_version=d.metadata.resource_version):
        dep = event["object"]
        st = dep.status
        progressing = next((c for c in st.conditions or [] if c.type == "Progressing"), None)
        if progressing and (not reasons or reasons[-1] != progressing.reason):
            reasons.append(progressing.reason)
        if (st.observed_generation or 0) >= dep.metadata.generation and st.updated_replicas == st.replicas == \
                st.available_replicas == 3:
            break
    assert reasons[0] in ("NewReplicaSetCreated", "ReplicaSetUpdated") and reasons[-1] == "NewReplicaSetAvailable"
    available = next(c for c in st.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
    rss = api.apps.list_namespaced_replica_set("default").items
    new = next(rs for rs in rss if rs.spec.replicas == 3)
    assert new.metadata.owner_references[0].uid == dep.metadata.uid
    assert new.metadata.name == f"web-{new.metadata.labels['pod-template-hash']}"
    assert new.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "3"
    assert new.metadata.annotations["deployment.kubernetes.io/max-replicas"] == "4"
    events = api.core.list_namespaced_event("default", field_selector="involvedObject.name=web,reason="
                                                                      "ScalingReplicaSet").items
    assert any(e.message.startswith(f"Scaled up replica set {new.metadata.name} from ") for e in events)


def test_K3_progress_deadline_takes_its_scaled_time(kubesim_factory):
    """At speed 4 a 12 s progressDeadlineSeconds runs out about 3 s after the last progress, not before."""
    import time
    cluster = kubesim_factory(k8s_version="1.33", speed=4.0)
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(deadline=12))
    assert status(cluster).returncode == 0
    start = time.monotonic()
    cluster.kubectl("set", "image", "deploy/web", "web=web:v2-missing")
    failed = status(cluster)
    took = time.monotonic() - start
    assert failed.returncode == 1 and "exceeded its progress deadline" in failed.stderr
    assert 2.7 <= took < 20, took


def test_K4_rolling_update_respects_max_surge_and_max_unavailable(cluster, api):
    """4 replicas with the default 25 %/25 %: at every step of the rollout the ReplicaSets ask for at most 5 pods and
    keep at least 3 available (replayed from the ReplicaSet watch history)."""
    from tests.kubesim.tests.kubectl.conftest import raw_watch
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=4))
    assert status(cluster).returncode == 0
    rv = api.apps.list_namespaced_replica_set("default").metadata.resource_version
    cluster.kubectl("set", "image", "deploy/web", "web=web:v2")
    assert status(cluster).returncode == 0
    _, events = raw_watch(cluster, f"/apis/apps/v1/namespaces/default/replicasets?watch=1&resourceVersion={rv}"
                                   f"&timeoutSeconds=1")
    state: dict[str, dict] = {}
    old = next(e["object"]["metadata"]["name"] for e in events
               if e["object"]["spec"]["template"]["spec"]["containers"][0]["image"] == "web:v1")
    state[old] = {"spec": 4, "available": 4}
    worst_total, worst_available = 0, 4
    for e in events:
        o = e["object"]
        state[o["metadata"]["name"]] = {"spec": o["spec"].get("replicas", 0),
                                        "available": o.get("status", {}).get("availableReplicas", 0)}
        worst_total = max(worst_total, sum(s["spec"] for s in state.values()))
        worst_available = min(worst_available, sum(s["available"] for s in state.values()))
    assert worst_total == 5, "maxSurge 1 is used and never exceeded"
    assert worst_available >= 3, "maxUnavailable 1 is never exceeded"
    assert state[old]["spec"] == 0
