"""The story `scripts/demo` tells, driven through the real `shipit release` CLI on the e2e sandbox.

A Rails shop (customers, orders, payments) runs on kubesim (exec mode: migration Jobs are real `rails db:migrate`
processes) against the real MariaDB. Three releases: (1) creates the schema; (2) indexes a table of 1,048,576
orders and adds a foreign key over orphaned payments: preflight stops it, the data is fixed, the same release then
runs and the code rolls out only once the index exists; (3) ships an image that crashes at boot and is reverted
automatically. Each outcome is checked (exit code, cluster, database, release record), not just printed: the exit code
is 0 only when the story went as expected.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from tests.kubesim.images import ImageBehaviour  # noqa: E402
from tests.support.replica import ReplicaPair, start_pair  # noqa: E402
from tests.support.sandbox import Sandbox, open_sandbox  # noqa: E402

DEFAULT_DB = "shipit_demo"
ENV = {"USER": "demo"}  # who the release records name
ORDERS_LOG2 = 20  # 2**20 = 1,048,576 orders, built by one INSERT...SELECT in a few seconds
CUSTOMERS = 10_000
PAYMENTS = 5_000
DELETED_ORDERS = (17, 4242, 4711)  # deleted with their payments left behind: the orphans

RELEASE_1 = {
    "20240101000001_create_customers": """\
def change
  create_table :customers do |t|
    t.string :name, null: false
    t.string :email, null: false
    t.timestamps
  end
end""",
    "20240101000002_create_orders": """\
def change
  create_table :orders do |t|
    t.bigint :customer_id, null: false
    t.integer :total_cents, null: false, default: 0
    t.string :status, null: false, default: "pending"
    t.timestamps
  end
end""",
    "20240101000003_create_payments": """\
def change
  create_table :payments do |t|
    t.bigint :order_id, null: false
    t.integer :amount_cents, null: false
    t.string :provider
    t.timestamps
  end
end""",
}
RELEASE_1_CODE = {
    "app/models/customer.rb": "class Customer < ApplicationRecord\n  has_many :orders\nend\n",
    "app/models/order.rb": "class Order < ApplicationRecord\n  belongs_to :customer\n  has_many :payments\nend\n",
    "app/models/payment.rb": "class Payment < ApplicationRecord\n  belongs_to :order\nend\n",
}
INDEX_VERSION = "20240201000001"
FK_VERSION = "20240201000002"
RELEASE_2 = {
    f"{INDEX_VERSION}_add_index_to_orders_customer_created": """\
def change
  add_index :orders, [:customer_id, :created_at]
end""",
    f"{FK_VERSION}_add_foreign_key_payments_orders": """\
def change
  add_foreign_key :payments, :orders
end""",
}
RELEASE_2_CODE = {
    # the new page lists a customer's latest orders: without the index this is a scan of every order
    "app/models/customer.rb": (
        "class Customer < ApplicationRecord\n  has_many :orders\n\n"
        "  def recent_orders\n    orders.order(created_at: :desc).limit(20)\n  end\nend\n"
    ),
}
RELEASE_3_CODE = {
    "config/initializers/cache.rb": "Rails.application.config.cache_store = :redis_cache_store, { url: ENV.fetch(\"REDIS_URL\") }\n",
}

BOLD, CYAN, GREEN, RED, RESET = ("\033[1m", "\033[36m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() \
    else ("", "", "", "", "")


class StoryFailed(Exception):
    """Something did not go as the story says: the demo stops and exits non-zero."""


def say(text: str) -> None:
    print(f"{BOLD}{CYAN}demo ▶ {text}{RESET}", flush=True)


def terminal_columns() -> int:
    """The width of the terminal the demo runs in (the user's own, never a value forced on it)."""
    return shutil.get_terminal_size((100, 24)).columns


def step(title: str) -> None:
    rule = max(3, min(100, terminal_columns() - 1) - len(title) - 5)
    print(f"\n{BOLD}━━━ {title} {'━' * rule}{RESET}", flush=True)


def user_env(sb: Sandbox) -> dict[str, str]:
    """shipit's environment for the person watching: the sandbox's, with the terminal's COLUMNS (if any) as the
    user has it rather than the test harness's fixed width, so shipit sizes its live view to the real terminal."""
    env = sb.env(ENV)
    env.pop("COLUMNS", None)
    if "COLUMNS" in os.environ:
        env["COLUMNS"] = os.environ["COLUMNS"]
    return env


def ok(text: str) -> None:
    print(f"{GREEN}demo ✔ {text}{RESET}", flush=True)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise StoryFailed(what)
    ok(what)


def recreate_database(name: str) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()


def release(sb: Sandbox, *args: str) -> tuple[int, float]:
    """`shipit release` with its live view and summary on this terminal; returns (exit code, seconds)."""
    command = " ".join(("shipit release --config", sb.config_path.name, *args))
    print(f"{BOLD}$ {command}{RESET}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(sb.command("release", *args), cwd=ROOT, env=user_env(sb), text=True)
    try:
        code = proc.wait()
    finally:
        if proc.poll() is None:  # the demo was interrupted: SIGTERM is shipit's clean stop
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return code, time.monotonic() - started


def write_files(sb: Sandbox, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = sb.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def add_migrations(sb: Sandbox, migrations: dict[str, str]) -> None:
    for key, body in migrations.items():
        version, name = key.split("_", 1)
        sb.app.add_migration(version, name, body)


def phase(status: dict, name: str) -> dict:
    return next(p for p in status["phases"] if p["phase"] == name)


def fill_shop(sb: Sandbox) -> None:
    """Customers, 2**ORDERS_LOG2 orders and payments for the first orders; then some orders are deleted and their
    payments stay behind. One INSERT...SELECT over a cross join of a small key table builds the million orders in a
    few seconds (doubling a table into itself would need an internal temporary table as large as the table)."""
    side = 2 ** (ORDERS_LOG2 // 2)
    sb.sql("CREATE TABLE demo_keys (n INT PRIMARY KEY)")
    sb.sql("INSERT INTO demo_keys (n) VALUES " + ", ".join(f"({i})" for i in range(max(side, CUSTOMERS))))
    sb.sql("INSERT INTO customers (name, email, created_at, updated_at) SELECT CONCAT('Customer ', n + 1), "
           f"CONCAT('customer', n + 1, '@example.com'), NOW(6), NOW(6) FROM demo_keys WHERE n < {CUSTOMERS}")
    sb.sql(f"INSERT INTO orders (customer_id, total_cents, status, created_at, updated_at) "
           f"SELECT 1 + (a.n * {side} + b.n) % {CUSTOMERS}, (a.n * 37 + b.n) % 20000, 'paid', "
           f"NOW(6) - INTERVAL (a.n * {side} + b.n) MINUTE, NOW(6) "
           f"FROM demo_keys a CROSS JOIN demo_keys b WHERE a.n < {side} AND b.n < {side}")
    sb.sql("DROP TABLE demo_keys")
    sb.sql(f"INSERT INTO payments (order_id, amount_cents, provider, created_at, updated_at) SELECT o.id, o.total_cents, "
           f"'card', NOW(6), NOW(6) FROM orders o WHERE o.id <= {PAYMENTS}")
    sb.sql(f"DELETE FROM orders WHERE id IN ({', '.join(map(str, DELETED_ORDERS))})")


def orphans(sb: Sandbox) -> list[dict]:
    return sb.sql("SELECT p.id, p.order_id FROM payments p LEFT JOIN orders o ON o.id = p.order_id "
                  "WHERE o.id IS NULL ORDER BY p.id")


def story(sb: Sandbox, pair: ReplicaPair | None) -> None:
    base = sb.initial_sha
    images = sb.deployment_images()
    servers = ["primary"] + [f"replica{i + 1}" for i in range(len(sb.replica_admin_urls))]
    world = "the real control plane" if hasattr(sb.cluster, "shipit_identity") else "kubesim"
    say(f"{world} is running Deployments web (2 replicas) and worker (1) on {images['web']}")
    say(f"the shop's repository is {sb.repo}; shipit's config is {sb.config_path}")

    # --- release 1 -------------------------------------------------------------------------------------------------
    step("Release 1: create the schema")
    add_migrations(sb, RELEASE_1)
    write_files(sb, RELEASE_1_CODE)
    r1 = sb.commit("customers, orders and payments")
    say("three create_table migrations and the models that use them; the first release names its base with --from")
    code, took = release(sb, "--from", base[:12])
    expect(code == 0, f"release 1 exit code 0 in {took:.1f}s")
    expect({v for v in (k.split('_')[0] for k in RELEASE_1)} <= sb.schema_versions(),
           "customers, orders and payments exist; their versions are in schema_migrations")
    expect(set(sb.deployment_images().values()) == {sb.image(r1)}, f"web and worker serve {sb.image(r1)}")

    # --- the shop runs ---------------------------------------------------------------------------------------------
    step("Meanwhile the shop takes orders")
    started = time.monotonic()
    fill_shop(sb)
    if pair is not None:
        pair.wait_caught_up(timeout=120)
    counts = {t: sb.sql(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("customers", "orders", "payments")}
    say(f"{counts['customers']:,} customers, {counts['orders']:,} orders, {counts['payments']:,} payments "
        f"(built in {time.monotonic() - started:.1f}s)")
    left = orphans(sb)
    say(f"support deleted orders {', '.join(map(str, DELETED_ORDERS))} by hand; their {len(left)} payments were left "
        "behind, pointing at orders that no longer exist")

    # --- release 2 -------------------------------------------------------------------------------------------------
    step("Release 2: an index on 1M orders and a foreign key over orphaned rows")
    add_migrations(sb, RELEASE_2)
    write_files(sb, RELEASE_2_CODE)
    r2 = sb.commit("customer page: recent orders (index), payments must belong to an order (foreign key)")
    say("add_index :orders, [:customer_id, :created_at] for the new 'recent orders' page, and "
        "add_foreign_key :payments, :orders")
    say("without shipit the foreign key would fail half-way through db:migrate (ERROR 1452) with the index already "
        "built, and the new code would roll out anyway")
    jobs_before = sb.job_names()
    code, took = release(sb)
    expect(code == 1, f"release 2 stopped by preflight: exit code 1 in {took:.1f}s")
    expect(sb.job_names() == jobs_before, "no migration Job was created")
    expect(not ({INDEX_VERSION, FK_VERSION} & sb.schema_versions())
           and not any("customer_id" in i for i in sb.indexes("orders")), "the schema is untouched")
    expect(set(sb.deployment_images().values()) == {sb.image(r1)}, "release 1's code is still serving")

    step("Fix the data, then run the same release again")
    say("the orphans shipit reported: " + ", ".join(f"payment {o['id']} -> order {o['order_id']}" for o in left))
    say("DELETE p FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE o.id IS NULL")
    sb.sql("DELETE p FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE o.id IS NULL")
    expect(not orphans(sb), "no orphaned payments are left")
    code, took = release(sb)
    expect(code == 0, f"release 2 exit code 0 in {took:.1f}s")
    st = sb.status()["release"]
    migrate, wait_ddl, rollout = phase(st, "migrate"), phase(st, "wait_ddl"), phase(st, "code")
    expect({INDEX_VERSION, FK_VERSION} <= sb.schema_versions()
           and all("index_orders_on_customer_id_and_created_at" in sb.indexes("orders", s)
                   and sb.foreign_keys("payments", s) for s in servers),
           f"the index and the foreign key exist on {' and '.join(servers)}")
    expect(rollout["started"] >= wait_ddl["ended"] >= migrate["ended"],
           f"the migration Job took {migrate['duration_s']:.1f}s, then shipit waited {wait_ddl['duration_s']:.1f}s "
           f"for the schema on {' and '.join(servers)}; the rollout began only after that "
           f"({time.strftime('%H:%M:%S', time.gmtime(wait_ddl['ended']))})")
    expect(set(sb.deployment_images().values()) == {sb.image(r2)}, f"web and worker serve {sb.image(r2)}")

    # --- release 3 -------------------------------------------------------------------------------------------------
    step("Release 3: an image that crashes at boot")
    write_files(sb, RELEASE_3_CODE)
    r3 = sb.commit("cache in Redis")
    sb.image_behaviour(r3, ImageBehaviour(exit_code=1, run_seconds=0.3, log_lines=(
        "=> Booting Puma", 'config/initializers/cache.rb:1: key not found: "REDIS_URL" (KeyError)')))
    say(f"the new initializer needs REDIS_URL, which production does not set: {sb.image(r3)} crashes as it starts")
    code, took = release(sb)
    expect(code == 1, f"release 3 failed and was reverted: exit code 1 in {took:.1f}s")
    st = sb.status()["release"]
    expect(st["status"] == "reverted" and phase(st, "revert")["status"] == "succeeded",
           "the release record says reverted")
    sb.wait_deployments_ready()
    expect(set(sb.deployment_images().values()) == {sb.image(r2)}
           and set().union(*sb.serving_images().values()) == {sb.image(r2)},
           f"release 2's image is serving again: {sb.image(r2)}")
    expect({INDEX_VERSION, FK_VERSION} <= sb.schema_versions(), "release 2's migrations stay applied (they are additive)")

    step("History")
    # captured to check its exit code, so it is told the width of the terminal it is printed on
    history = sb.shipit("history", env={**ENV, "COLUMNS": str(terminal_columns())})
    print(history.stdout, end="", flush=True)
    expect(history.code == 0, "shipit history lists the four runs")


@contextlib.contextmanager
def real_world(workdir: Path):
    """The real control plane with the sandbox's view of it; stopped when the demo ends."""
    from tests.cluster.cluster import RealCluster
    from tests.cluster.world import RealWorld
    with RealCluster(workdir / "cluster", log=lambda msg: say(msg)) as cluster:
        yield RealWorld(cluster, workdir / "cluster" / "sandbox.kubeconfig", exec_mode=True, shipit_identity=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the shipit demo (see scripts/demo).")
    parser.add_argument("--keep", action="store_true", help="keep the demo's working folder (the app repository)")
    parser.add_argument("--database", default=DEFAULT_DB, help=f"database to (re)create on 127.0.0.1:3306 "
                        f"(default {DEFAULT_DB}); it is left in place afterwards for a look around")
    parser.add_argument("--replica", action="store_true", help="instead of the MariaDB service, start a primary and "
                        "a replica of our own, so release 2 also waits for the index on the replica")
    parser.add_argument("--real-cluster", action="store_true", help="run on the real control plane of tests/cluster "
                        "(upstream kube-apiserver and controllers; built with Go on first use) instead of kubesim, "
                        "with shipit holding the shipit ServiceAccount's token")
    args = parser.parse_args(argv)
    cluster_words = "the real control plane (tests/cluster)" if args.real_cluster else "a simulated cluster (kubesim)"
    # SIGTERM (scripts/demo's trap, or a Ctrl-C there) unwinds through the finally blocks: the shipit run is
    # terminated, kubesim and the HTTP app stop, the database user is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="shipit-demo-"))
    try:
        step("shipit demo")
        with contextlib.ExitStack() as stack:
            pair = None
            if args.replica:
                pair = stack.enter_context(start_pair(workdir))
                db = stack.enter_context(pair.fresh_database())
                say(f"a MariaDB primary (port {pair.primary.port}) and its replica (port {pair.replica.port}), "
                    f"{cluster_words}, a Rails 6.1 app in a git repository")
                db_url, replica_urls = db.primary_url, (db.replica_url,)
            else:
                say(f"database {args.database} on the MariaDB at 127.0.0.1:3306 (recreated), {cluster_words}, "
                    "a Rails 6.1 app in a git repository")
                recreate_database(args.database)
                db_url, replica_urls = f"mysql://root@127.0.0.1:3306/{args.database}", ()
            world = stack.enter_context(real_world(workdir)) if args.real_cluster else None
            sb = stack.enter_context(open_sandbox(workdir, db_url=db_url, replica_urls=replica_urls, cluster=world))
            story(sb, pair)
    except StoryFailed as e:
        print(f"\n{BOLD}{RED}demo ✘ the story did not go as expected: {e}{RESET}", flush=True)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"\n{BOLD}{RED}demo ✘ {e}\n{e.stderr or ''}{RESET}", flush=True)
        return 1
    finally:
        if args.keep:
            print(f"demo: working folder kept: {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{BOLD}{GREEN}demo ✔ all three releases went as expected in {time.monotonic() - started:.0f}s{RESET}",
          flush=True)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
