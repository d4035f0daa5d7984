#!/usr/bin/env python3
"""Benchmark `shipit plan`: a generated Rails-like repository with 5,000 migrations over 6,000 commits.

Times, as medians of several runs: `shipit plan` as a whole process over a range adding 40 migrations and code
changes (it lists both commits' 5,000 migrations, reads the models at --to and the schema at --from), the
migration parser alone (files per second over all 5,000), and `shipit --help`.
Targets: plan <= 0.5 s, parser >= 2,000 files/s, --help <= 0.3 s.

    .venv/bin/python scripts/bench_plan.py [--runs 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPIT = ROOT / ".venv" / "bin" / "shipit"
COMMITS = 6_000
MIGRATIONS = 5_000
RANGE_COMMITS = 60  # the last 60 commits: 40 add a migration, all change code

TEMPLATES = (
    "create_table :{t} do |t|\n      t.references :user, foreign_key: true\n      t.string :name, null: false\n"
    "      t.timestamps\n      t.index :name, unique: true\n    end",
    "add_index :{t}, %i[account_id created_at], algorithm: :inplace",
    "add_column :{t}, :note_{n}, :string, null: false, default: \"\"",
    "add_reference :{t}, :owner, foreign_key: {{ to_table: :users }}, index: true",
    "change_table :{t} do |t|\n      t.string :extra_{n}\n      t.index :extra_{n}\n    end",
    "add_foreign_key :{t}, :accounts, column: :account_id",
    "reversible do |dir|\n      dir.up do\n        execute <<~SQL\n          UPDATE {t} SET flag = 1 WHERE flag IS NULL\n"
    "        SQL\n      end\n    end",
    "remove_column :{t}, :legacy_{n}, :string",
)


def migration_source(n: int) -> tuple[str, bytes]:
    table = f"table_{n % 97}"
    body = TEMPLATES[n % len(TEMPLATES)].format(t=table, n=n)
    name = f"Change{n:05d}Table"
    version = f"2020{n:010d}"
    text = (
        f"# frozen_string_literal: true\n\nclass {name} < ActiveRecord::Migration[{('6.1', '7.0', '7.1')[n % 3]}]\n"
        f"  def change\n    {body}\n  end\nend\n"
    )
    return f"db/migrate/{version}_change{n:05d}_table.rb", text.encode()


def generate(repo: Path) -> None:
    """One `git fast-import` stream: far faster than 5,000 GitPython commits."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    migration_commits = set(range(COMMITS - RANGE_COMMITS, COMMITS - RANGE_COMMITS + 40))
    spread = COMMITS - RANGE_COMMITS
    while len(migration_commits) < MIGRATIONS:  # spread the rest evenly over the older history
        migration_commits.add(int(len(migration_commits) * spread / MIGRATIONS) % spread)
    out = bytearray()

    def data(payload: bytes) -> None:
        out.extend(b"data %d\n" % len(payload))
        out.extend(payload)
        out.extend(b"\n")

    n_migration = 0
    for i in range(COMMITS):
        out.extend(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        stamp = 1_600_000_000 + i * 600
        out.extend(b"author Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0000\n" % (stamp, stamp))
        data(b"change %d" % i)
        if i:
            out.extend(b"from :%d\n" % i)
        model = f"app/models/model_{i % 300}.rb".encode()
        out.extend(b"M 100644 inline " + model + b"\n")
        data(b"class Model%d < ApplicationRecord\n  # revision %d\nend\n" % (i % 300, i))
        if i in migration_commits:
            path, text = migration_source(n_migration)
            n_migration += 1
            out.extend(b"M 100644 inline " + path.encode() + b"\n")
            data(text)
            out.extend(b"M 100644 inline db/schema.rb\n")
            data(b"ActiveRecord::Schema.define(version: %d) do\nend\n" % i)
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(out), cwd=repo, check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    assert n_migration == MIGRATIONS, n_migration


def time_process(argv: list[str], runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall times; `cpu` collects each run's CPU time (user + system, with its git children), which a machine
    shared with other work inflates far less than wall time."""
    subprocess.run(argv, check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return times


def time_parser(repo: Path, runs: int) -> tuple[int, list[float]]:
    from shipit.planning.rails import parse_migration

    files = [(str(p.relative_to(repo)), p.read_bytes()) for p in sorted((repo / "db" / "migrate").glob("*.rb"))]
    parse_migration(files[0][1], files[0][0])  # load the grammar outside the timing
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for path, source in files:
            parse_migration(source, path)
        rates.append(len(files) / (time.perf_counter() - start))
    return len(files), rates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this directory instead of a temporary one")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        repo = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="shipit-bench-")
        repo = Path(tmp) / "app"
    try:
        if not (repo / ".git").exists():
            start = time.perf_counter()
            generate(repo)
            print(f"generated {COMMITS} commits, {MIGRATIONS} migrations in {time.perf_counter() - start:.1f}s")
        plan_argv = [str(SHIPIT), "plan", "--repo", str(repo), "--from", f"HEAD~{RANGE_COMMITS}", "--output", "json"]
        check = subprocess.run(plan_argv, check=True, capture_output=True, text=True).stdout
        n_planned = check.count('"phase":')
        plan_cpu: list[float] = []
        plan_times = time_process(plan_argv, args.runs, plan_cpu)
        help_times = time_process([str(SHIPIT), "--help"], args.runs)
        n_files, rates = time_parser(repo, max(3, args.runs // 2))

        plan_med, help_med, rate_med = (statistics.median(x) for x in (plan_times, help_times, rates))
        rows = [
            (f"shipit plan (whole process, 40 of {MIGRATIONS:,})", f"{plan_med:.3f} s", "<= 0.5 s", plan_med <= 0.5),
            (f"parser ({n_files} files)", f"{rate_med:,.0f} files/s", ">= 2,000 files/s", rate_med >= 2000),
            ("shipit --help", f"{help_med:.3f} s", "<= 0.3 s", help_med <= 0.3),
        ]
        print(f"{'measure':<44} {'median':>16} {'target':>18}  ok")
        for name, value, target, ok in rows:
            print(f"{name:<44} {value:>16} {target:>18}  {'yes' if ok else 'NO'}")
        print(f"(plan covered {n_planned} migrations; runs: plan {len(plan_times)}, help {len(help_times)}, "
              f"parser {len(rates)}; min plan {min(plan_times):.3f} s; plan = {plan_med / help_med:.1f}x `--help` in "
              f"this run, {plan_med - help_med:.3f} s above it; plan CPU time median {statistics.median(plan_cpu):.3f} s: "
              f"compare these on a loaded machine)")
        return 0 if all(ok for *_, ok in rows) else 1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
