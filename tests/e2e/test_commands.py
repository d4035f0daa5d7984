"""The other commands through the real CLI: `shipit unlock`, `history --limit`, the text output of `status` and
`history` (Ctrl-C during a release: test_lifecycle.py)."""

from __future__ import annotations

import re
import time


from shipit.core.config import KubernetesConfig
from shipit.kube.client import Kube
from shipit.kube.lock import ReleaseLock
from tests.support.sandbox import APP, NAMESPACE



def _lock(sb, user: str, *, duration: float, release_id: str | None = None) -> ReleaseLock:
    """Another run's release lock, taken with shipit's own lock code over the sandbox cluster."""
    kube = Kube.from_config(KubernetesConfig(namespace=NAMESPACE, kubeconfig=str(sb.cluster.kubeconfig)))
    return ReleaseLock(kube, APP, duration=duration, release_id=release_id, env={"USER": user})


def test_history_status_and_unlock_commands(sandbox):
    sb = sandbox
    first = sb.bootstrap()
    second = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    assert sb.shipit("release").code == 0

    # history: newest first, --limit N, text with outcome, duration and git range
    r = sb.shipit("history", "--limit", "1", "--output", "json")
    assert r.code == 0, r.text
    assert [h["release"] for h in r.json()["releases"]] == ["r0002"]
    r = sb.shipit("history")
    assert r.code == 0, r.text
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["release", "status", "started", "took"] and len(lines) == 3, r.stdout
    assert re.match(rf"r0002 +succeeded .* \d+\.\ds  {first[:7]}\.\.{second[:7]} +e2e ", lines[1]), lines[1]
    assert re.match(r"r0001 +succeeded ", lines[2]), lines[2]
    r = sb.shipit("history", "--limit", "1")
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["r0002"], r.stdout
    assert sb.shipit("history", "--limit", "0").code == 3  # bad input, not an empty list

    # status, text: the last release phase by phase, and a free lock
    r = sb.shipit("status")
    assert r.code == 0, r.text
    assert r.stdout.startswith(f"shipit shop r0002: released ({first[:7]}..{second[:7]}"), r.stdout
    assert re.search(r"^  Code rollout +ok ", r.stdout, re.M) and re.search(r"^  Record +ok ", r.stdout, re.M), r.stdout
    assert re.search(r"^lock: free$", r.stdout, re.M) and r.stdout.rstrip().splitlines()[-1].startswith("serving: "), r.stdout
    assert sb.shipit("unlock").stdout.strip() == "the lock was free"

    # a live holder: status names it, unlock refuses with exit 4 naming it, --force removes it
    alice = _lock(sb, "alice", duration=60, release_id="r0009")
    alice.acquire()
    try:
        r = sb.shipit("status")
        assert "lock: alice on " in r.stdout and "release r0009" in r.stdout, r.stdout
        r = sb.shipit("unlock")
        assert r.code == 4, r.text
        assert "held by a live release: alice on" in r.stderr and "r0009" in r.stderr and "--force" in r.stderr, r.text
        assert alice.holder().identity == alice.identity  # refused means untouched
        r = sb.shipit("unlock", "--force", "--output", "json")
        assert r.code == 0, r.text
        assert r.json()["removed"] is True and r.json()["previous_holder"].startswith("alice on "), r.json()
        assert alice.holder() is None
    finally:
        alice.release()

    # an expired lock (its holder died): removed without --force
    dead = _lock(sb, "carol", duration=1, release_id="r0010")
    dead.acquire()
    dead._stop.set()  # the holder's process died: no more renewals
    time.sleep(1.5)
    r = sb.shipit("unlock")
    assert r.code == 0, r.text
    assert r.stdout.startswith("lock removed (was held by carol on ") and "expired" in r.stdout, r.stdout
    assert dead.holder() is None
    assert re.search(r"^lock: free$", sb.shipit("status").stdout, re.M)
