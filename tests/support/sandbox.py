"""One whole release environment for end-to-end tests, the demo and the release benchmark.

Real parts only: a cluster in exec mode (migration Jobs run `bin/rails db:migrate` as real processes in the app
checkout; in pytest the real control plane of tests/cluster, shipit holding its `shipit` ServiceAccount's token, or
kubesim with SHIPIT_TEST_CLUSTER=kubesim, without Go, or for `kubesim_only` tests), a real git repository holding a
Rails 6.1 fixture app, a real MariaDB database (optionally with a real replica), the HTTP app the gates probe, and the
real `shipit` CLI run as a subprocess.

    with open_sandbox(tmp_path, db_url=url) as sb:    # url: root URL of an existing, empty database
        # (pytest: tests/support/sandbox_fixtures.py's `sandbox` / `replica_sandbox`)
        sb.add_migration("20240101000001", "create_users", CREATE_USERS)   # writes and commits
        base = sb.head()
        sb.change_code("app/models/user.rb", "class User < ApplicationRecord; end\n")
        r = sb.shipit("release", "--from", sb.initial_sha, "--output", "json")
        assert r.code == 0, r.text
        assert sb.deployment_images() == {"web": sb.image(sb.head()), "worker": sb.image(sb.head())}
        assert "20240101000001" in sb.schema_versions()

Deployments `web` (2 replicas) and `worker` (1) start on the image of the initial commit; their container has
`workingDir` = the app checkout and `DATABASE_URL` from a Secret, so the migration Job cut from `web` migrates the
checkout's migrations. The database is reached as a user with a password (from ${SHIPIT_DB_PASSWORD}) so tests can
check that it never reaches output. Image behaviour is picked per image with `sb.image_behaviour(...)`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pymysql
import yaml

from tests.kubesim import resources as R
from tests.kubesim.cluster import Cluster
from tests.kubesim.images import ImageBehaviour
from tests.support.httpapp import HttpApp
from tests.support.mariadb import query
from tests.support.railsapp import RailsApp, make_rails_app, rails_url
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "default"
APP = "shop"
REPOSITORY = "registry.local/shop"
PASSWORD_ENV = "SHIPIT_DB_PASSWORD"
DEPLOYMENTS = {"web": 2, "worker": 1}

# Short timeouts for tests; override any of them with Sandbox.write_config(**sections).
DEFAULT_SETTINGS: dict[str, Any] = {
    "migration": {"from_deployment": "web", "container": "web", "command": ["bin/rails", "db:migrate"], "timeout": "5m"},
    "gates": {"ddl_timeout": "3m", "replica_lag_max": "30s", "threads_running_max": 50, "bake": "1s"},
    "rollout": {"timeout": "90s", "ready_grace": "20s"},
    "preflight": {"budget": "60s", "chunk_time": "100ms", "long_transaction": "30s"},
    "rollback": {"automatic": True, "git_revert": "off"},
    "lock": {"duration": "30s", "wait": "0s"},
    "records": {"keep": 50},
}

CREATE_USERS = """\
def change
  create_table :users do |t|
    t.string :email, null: false
    t.string :name
    t.timestamps
  end
end
"""


@dataclasses.dataclass(frozen=True)
class Result:
    """A finished `shipit` run."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return f"exit {self.code}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def json(self) -> Any:
        return json.loads(self.stdout)


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str, **kw) -> pymysql.connections.Connection:
    p = urlsplit(url)
    return pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306, user=p.username or "root",
                           password=p.password or "", database=p.path.lstrip("/") or None, autocommit=True, **kw)


def create_db_user(admin_url: str, user: str, password: str) -> None:
    """The release's database user, with a password (so the tests can look for leaks) and the grants shipit needs.
    Created through `admin_url` (root); on a replica pair it replicates to the replica."""
    conn = connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'")
    finally:
        conn.close()


def drop_db_user(admin_url: str, user: str) -> None:
    conn = connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    finally:
        conn.close()


@dataclasses.dataclass
class Sandbox:
    root: Path
    cluster: Cluster
    app: RailsApp
    http: HttpApp
    db_admin_url: str  # root, for the test's own inspection and data setup
    replica_admin_urls: tuple[str, ...]
    password: str
    db_user: str
    config_path: Path
    initial_sha: str = ""
    settings: dict = dataclasses.field(default_factory=dict)

    # --- git ---------------------------------------------------------------------------------------------------------

    @property
    def repo(self) -> Path:
        return self.app.path

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.repo, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def add_origin(self) -> Path:
        """A bare repository as `origin` (what rollback.git_revert pushes to), with main pushed and tracked."""
        origin = self.root / "origin.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, capture_output=True)
        self.git("remote", "add", "origin", str(origin))
        self.push()
        self.git("branch", "-q", "--set-upstream-to=origin/main", "main")
        return origin

    def push(self) -> None:
        self.git("push", "-q", "origin", "main")

    def origin_git(self, *args: str) -> str:
        out = subprocess.run(["git", "--git-dir", str(self.root / "origin.git"), *args], check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()

    def add_migration(self, version: str, name: str, body: str, *, commit: bool = True) -> str:
        """Write db/migrate/<version>_<name>.rb (see RailsApp.add_migration) and commit it; returns HEAD."""
        self.app.add_migration(version, name, body)
        return self.commit(f"migration {version} {name}") if commit else self.head()

    def change_code(self, path: str = "app/models/user.rb", text: str | None = None, *, commit: bool = True) -> str:
        """Change an app file (code, not a migration) and commit it; returns HEAD."""
        target = self.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if text is not None else f"# change {uuid.uuid4().hex[:8]}\n")
        return self.commit(f"code: {path}") if commit else self.head()

    # --- images and cluster --------------------------------------------------------------------------------------

    @staticmethod
    def image(sha: str) -> str:
        return f"{REPOSITORY}:{sha}"

    def image_behaviour(self, sha: str, behaviour: ImageBehaviour) -> None:
        """How the image built for commit `sha` behaves in Deployment pods (crash, never ready, ...)."""
        self.cluster.images.add(self.image(sha), behaviour)

    def crash_image(self, sha: str) -> None:
        self.image_behaviour(sha, ImageBehaviour(exit_code=1, run_seconds=0.3, log_lines=(
            "starting shop", "ActiveRecord::ConnectionNotEstablished: boom in config/initializers/cache.rb:3")))

    def _objects(self, res) -> list[dict]:
        """Straight from the in-process store: fast enough to poll every 100 ms while a release runs."""
        return self.cluster.store.list(res, NAMESPACE)[0]

    def deployment_images(self) -> dict[str, str]:
        """Deployment name -> the image of its container in the pod template."""
        return {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
                for d in self._objects(R.DEPLOYMENTS)}

    def serving_images(self) -> dict[str, set[str]]:
        """Deployment name -> images of its Ready pods (what actually serves)."""
        out: dict[str, set[str]] = {name: set() for name in DEPLOYMENTS}
        for p in self._objects(R.PODS):
            name = (p["metadata"].get("labels") or {}).get("app")
            if name not in out or p["metadata"].get("deletionTimestamp"):
                continue
            conds = {c["type"]: c["status"] for c in (p.get("status") or {}).get("conditions") or []}
            if conds.get("Ready") == "True":
                out[name].add(p["spec"]["containers"][0]["image"])
        return out

    def jobs(self) -> list[dict]:
        return self._objects(R.JOBS)

    def job_names(self) -> list[str]:
        return sorted(j["metadata"]["name"] for j in self.jobs())

    # --- database ------------------------------------------------------------------------------------------------

    def sql(self, statement: str, args: Any = None, *, server: str = "primary") -> list[dict]:
        url = self.db_admin_url if server == "primary" else self.replica_admin_urls[int(server.removeprefix("replica") or 1) - 1]
        return query(connect(url, cursorclass=pymysql.cursors.DictCursor), statement, args)

    def schema_versions(self, server: str = "primary") -> set[str]:
        try:
            return {r["version"] for r in self.sql("SELECT version FROM schema_migrations", server=server)}
        except pymysql.err.ProgrammingError:
            return set()

    def indexes(self, table: str, server: str = "primary") -> set[str]:
        rows = self.sql("SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,), server=server)
        return {r["n"] for r in rows}

    def foreign_keys(self, table: str, server: str = "primary") -> set[str]:
        rows = self.sql("SELECT CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = "
                        "DATABASE() AND TABLE_NAME = %s AND CONSTRAINT_TYPE = 'FOREIGN KEY'", (table,), server=server)
        return {r["n"] for r in rows}

    # --- config and CLI ------------------------------------------------------------------------------------------

    @property
    def db_url(self) -> str:
        """The URL shipit is configured with: the release user, the password as ${SHIPIT_DB_PASSWORD}."""
        return _with_credentials(self.db_admin_url, self.db_user, "${" + PASSWORD_ENV + "}")

    def write_config(self, **sections: Any) -> Path:
        """(Re)write the shipit YAML; keyword arguments replace whole sections of DEFAULT_SETTINGS (e.g. `lock=...`),
        or `http_gate=False` drops the HTTP gate."""
        http_gate = sections.pop("http_gate", True)
        settings = {k: dict(v) for k, v in DEFAULT_SETTINGS.items()}
        for key, value in {**self.settings, **sections}.items():
            settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
        self.settings = {**self.settings, **sections}
        gates = dict(settings.pop("gates"))
        if http_gate:
            gates["http"] = [{"url": f"{self.http.url}/up", "expect_status": 200, "consecutive": 2,
                              "timeout": "2s", "interval": "200ms"}]
        doc = {
            "app": APP,
            "repo": str(self.repo),
            "kubernetes": {"namespace": NAMESPACE, "kubeconfig": str(self.cluster.kubeconfig)},
            "image": {"repository": REPOSITORY, "tag": "{sha}"},
            "deployments": [{"name": name} for name in DEPLOYMENTS],
            "database": {"url": self.db_url,
                         "replicas": [{"name": f"replica{i + 1}", "url": _with_credentials(u, self.db_user, "${" + PASSWORD_ENV + "}")}
                                      for i, u in enumerate(self.replica_admin_urls)]},
            "gates": gates,
            **settings,
        }
        self.config_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return self.config_path

    def assert_no_secret(self, *results: Result) -> None:
        """The database password must never reach any output."""
        for r in results:
            assert self.password not in r.stdout + r.stderr, f"password leaked in output\n{r.text}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "KUBECONFIG", "CI")}
        env.update({PASSWORD_ENV: self.password, "PYTHONPATH": str(ROOT), "USER": "e2e", "COLUMNS": "200"})
        env.update(extra or {})
        return env

    def command(self, *args: str) -> list[str]:
        """argv for `shipit <args> --config <sandbox config>` (the option goes after the subcommand)."""
        sub, rest = (args[0], args[1:]) if args else ("--help", ())
        return [sys.executable, "-m", "shipit.cli", sub, "--config", str(self.config_path), *rest]

    def shipit(self, *args: str, timeout: float = 300.0, env: Mapping[str, str] | None = None) -> Result:
        """Run the real CLI to completion: `sb.shipit("release", "--from", sha)`."""
        started = time.monotonic()
        proc = subprocess.run(self.command(*args), cwd=ROOT, env=self.env(env), capture_output=True, text=True,
                              timeout=timeout)
        return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

    def spawn(self, *args: str, env: Mapping[str, str] | None = None, **popen: Any) -> subprocess.Popen:
        """Start the CLI without waiting (concurrency, kill -9). Output goes to pipes unless told otherwise."""
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.command(*args), cwd=ROOT, env=self.env(env), text=True, **popen)

    def kill_9(self, *args: str, when: Callable[[subprocess.Popen], object]) -> None:
        """Start `shipit *args` and SIGKILL it as soon as `when(proc)` returns: a crash at a chosen moment."""
        proc = self.spawn(*args)
        try:
            when(proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()

    def resume(self, *args: str) -> Result:
        """`shipit release --resume *args`, retried while it exits 4 (the release lock is still held by a run that
        died or sleeps, until its lease expires)."""
        return wait_for(lambda: (lambda r: r if r.code != 4 else None)(self.shipit("release", "--resume", *args)),
                        timeout=120, what="the dead run's lease to expire")

    def add_slow_migration(self, version: str, seconds: int) -> str:
        """A migration that adds users.nickname and then sleeps in raw SQL (so a release needs --yes)."""
        return self.add_migration(version, "add_nickname_slowly", (
            f'def up\n  add_column :users, :nickname, :string\n  execute "SELECT SLEEP({seconds})"\nend\n'
            'def down\n  remove_column :users, :nickname\nend'))

    def add_nickname_migration(self, version: str) -> str:
        return self.add_migration(version, "add_nickname_to_users",
                                  "def change\n  add_column :users, :nickname, :string\nend")

    def wait_migration_job_running(self) -> list[dict]:
        """The migration Jobs with an active pod, once there is one."""
        return wait_for(lambda: [j for j in self.jobs() if (j.get("status") or {}).get("active")], timeout=120,
                 what="the migration Job to run")

    def status(self) -> dict:
        r = self.shipit("status", "--output", "json")
        assert r.code == 0, r.text
        return r.json()

    def history(self) -> list[dict]:
        r = self.shipit("history", "--output", "json")
        assert r.code == 0, r.text
        return r.json()["releases"]

    # --- setup ---------------------------------------------------------------------------------------------------

    def _apply(self, manifest: dict) -> None:
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def create_deployments(self, sha: str) -> None:
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-db", "namespace": NAMESPACE},
                  "data": {"DATABASE_URL": base64.b64encode(
                      rails_url(_with_credentials(self.db_admin_url, self.db_user, self.password)).encode()).decode()}}
        self._apply(secret)
        for name, replicas in DEPLOYMENTS.items():
            labels = {"app": name}
            self._apply({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": labels},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                        "name": name, "image": self.image(sha), "workingDir": str(self.repo),
                        "env": [{"name": "RAILS_ENV", "value": "development"},
                                {"name": "DATABASE_URL",
                                 "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_URL"}}}],
                    }]}},
                },
            })
        self.wait_deployments_ready()

    def wait_deployments_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            items = self._objects(R.DEPLOYMENTS)
            ready = all((d.get("status") or {}).get("availableReplicas", 0) == d["spec"]["replicas"]
                        and (d.get("status") or {}).get("updatedReplicas", 0) == d["spec"]["replicas"] for d in items)
            if items and ready:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Deployments not ready: {[d.get('status') for d in items]}")
            time.sleep(0.2)

    def bootstrap(self) -> str:
        """The first release: the users table, through `shipit release --from <initial commit>`. Returns its sha."""
        self.add_migration("20240101000001", "create_users", CREATE_USERS)
        sha = self.change_code("app/models/user.rb", "class User < ActiveRecord::Base\nend\n")
        r = self.shipit("release", "--from", self.initial_sha)
        if r.code != 0:
            raise RuntimeError(f"bootstrap release failed\n{r.text}")
        return sha


@contextlib.contextmanager
def open_sandbox(root: Path, *, db_url: str, replica_urls: tuple[str, ...] = (), cluster: Cluster | None = None,
                 **settings: Any) -> Iterator[Sandbox]:
    """Build the whole environment under `root` (an empty folder) on the given database (root URLs: the admin
    connection; the release user is created on them). Stops the cluster and the HTTP app afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    own_cluster = cluster is None
    cluster = cluster or Cluster(exec_mode=True)
    http = HttpApp()
    http._server.handle_error = lambda request, address: None  # gate probes hanging up are not errors
    http.start()
    db_user = ""
    try:
        if own_cluster:
            cluster.start()
        cluster.write_kubeconfig(root / "kube" / "kubeconfig")
        app = make_rails_app(root / "shop")
        password = "pw-" + secrets.token_hex(8)
        db_user = f"shipit_{secrets.token_hex(4)}"
        create_db_user(db_url, db_user, password)
        sb = Sandbox(root=root, cluster=cluster, app=app, http=http, db_admin_url=db_url,
                     replica_admin_urls=tuple(replica_urls), password=password, db_user=db_user,
                     config_path=root / "shipit.yaml")
        sb.git("init", "-q", "-b", "main")
        sb.git("config", "user.email", "e2e@shipit.test")
        sb.git("config", "user.name", "shipit e2e")
        (app.path / "app" / "models").mkdir(parents=True, exist_ok=True)
        (app.path / "app" / "models" / "application_record.rb").write_text(
            "class ApplicationRecord < ActiveRecord::Base\n  self.abstract_class = true\nend\n")
        (app.path / ".gitignore").write_text("/log/\n/tmp/\n")  # what the migration Jobs write into the checkout
        sb.initial_sha = sb.commit("initial app")
        sb.write_config(**settings)
        sb.create_deployments(sb.initial_sha)
        yield sb
    finally:
        http.stop()
        if own_cluster:
            cluster.stop()
        if db_user:
            drop_db_user(db_url, db_user)
