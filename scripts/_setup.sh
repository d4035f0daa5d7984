# Shared setup for scripts/test and scripts/demo (sourced, not run): a .venv with shipit and its dev extras, the
# MariaDB service on 127.0.0.1:3306 (installed from Debian's packages if missing, started if down, root over TCP with
# an empty password), Debian's Rails with mysql2, and the tools the tests drive (tmux, percona-toolkit, prometheus).
# The caller has done `set -euo pipefail` and `cd` to the repository root; $SETUP_NAME names it in error messages.

SETUP_NAME=${SETUP_NAME:-$(basename "$0")}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

setup_python() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  log "installing shipit with its dev extras"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import shipit, typer, kubernetes, pymysql, git, tenacity, structlog, tree_sitter_ruby, httpx, slack_sdk, github' \
    || { echo "$SETUP_NAME: the Python dependencies did not install" >&2; exit 1; }
}

mariadb_up() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot status >/dev/null 2>&1; }

apt_packages=()
apt_install() {
  # one apt-get run for everything missing; `apt-get update` only when something is
  [ "${#apt_packages[@]}" -eq 0 ] && return 0
  log "installing from Debian: ${apt_packages[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  apt_packages=()
}

need_packages() {
  [ -x /usr/sbin/mariadbd ] || apt_packages+=(mariadb-server)
  if ! command -v rails >/dev/null 2>&1 || ! ruby -e 'require "mysql2"' >/dev/null 2>&1; then
    apt_packages+=(ruby-rails ruby-mysql2)
  fi
  command -v tmux >/dev/null 2>&1 || apt_packages+=(tmux)
  command -v pt-online-schema-change >/dev/null 2>&1 || apt_packages+=(percona-toolkit)
  [ -x /usr/bin/prometheus ] || apt_packages+=(prometheus)  # the metric gates' tests scrape a test app with it
  apt_install
}

TEST_CNF=/etc/mysql/mariadb.conf.d/99-shipit-tests.cnf
# the service itself, by its socket (the tests also run private mariadbd processes of their own)
mariadb_socket_up() { as_root mariadb-admin -uroot --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1; }

mariadb_start() {
  as_root install -d -o mysql -g mysql /run/mysqld
  # no systemd here: the Debian init script starts mysqld_safe, which keeps the server up
  as_root /etc/init.d/mariadb start >/dev/null 2>&1 \
    || as_root start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd
  for _ in $(seq 1 120); do
    mariadb_socket_up && return 0
    sleep 0.5
  done
}

setup_mariadb() {
  if [ ! -f "$TEST_CNF" ] || ! mariadb_up; then
    # the tests see clients by IP (as a server behind a network does), so host names are never resolved;
    # root@127.0.0.1 then needs its own account, with an empty password
    if [ ! -f "$TEST_CNF" ]; then
      printf '[mysqld]\nskip-name-resolve\n' | as_root tee "$TEST_CNF" >/dev/null
      if mariadb_socket_up; then
        log "restarting MariaDB without host name resolution"
        as_root /etc/init.d/mariadb stop >/dev/null 2>&1 || true
      fi
    fi
    mariadb_socket_up || { log "starting MariaDB"; mariadb_start; }
    as_root mariadb -uroot -e "CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" >/dev/null 2>&1 || true
    mariadb_up || { echo "$SETUP_NAME: MariaDB is not reachable on 127.0.0.1:3306 as root and could not be started" >&2; exit 1; }
  fi
}

go_binary() {
  for go in "${GO:-}" /usr/local/go/bin/go "$(command -v go 2>/dev/null || true)"; do
    [ -n "$go" ] && [ -x "$go" ] && { echo "$go"; return 0; }
  done
  return 1
}

setup_cluster() {
  # The real control plane of tests/cluster (etcd, kube-apiserver, controllers, scheduler in one Go binary), cached
  # under ~/.cache/shipit-cluster; a cold build takes a while and prints its progress. Without Go, skip: the
  # tests marked real_cluster then skip and say why.
  if ! go_binary >/dev/null; then
    log "Go not found: skipping the real control plane build (tests marked real_cluster will be skipped)"
    return 0
  fi
  log "building the real control plane (tests/cluster) if needed"
  GO="$(go_binary)" .venv/bin/python -m tests.cluster.build >/dev/null \
    || { echo "$SETUP_NAME: building tests/cluster failed (see above)" >&2; exit 1; }
}

HELM_VERSION=v3.21.4
HELM_DIR="$HOME/.cache/shipit-tools"

# Print a `go install -x` build's progress (modules downloaded, packages compiled) every INTERVAL s until PID ends.
watch_go_build() {
  local name=$1 build_log=$2 pid=$3 started=$4 interval=$5
  while kill -0 "$pid" 2>/dev/null; do
    sleep "$interval"
    printf '    %s: %d modules downloaded, %d packages compiled (%ds)\n' "$name" \
      "$(grep -c '^go: downloading' "$build_log")" "$(grep -c '^mkdir -p \$WORK/b[0-9]*/$' "$build_log")" \
      "$((SECONDS - started))" >&2
  done
}

setup_helm() {
  # The helm CLI the helm strategy's tests drive, built from the Helm Go module into $HELM_DIR (outside the
  # repository; the tests look there); skipped when present (a module build reports only major.minor, e.g. v3.21).
  # Without Go, those tests skip.
  if [ -x "$HELM_DIR/helm" ] && "$HELM_DIR/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION%.*}"; then
    return 0
  fi
  if ! go_binary >/dev/null; then
    log "Go not found: skipping the helm build (the helm strategy's tests will be skipped)"
    return 0
  fi
  log "building helm $HELM_VERSION from its Go module into $HELM_DIR (about 3 minutes on 2 cores, once)"
  local started=$SECONDS build_log pid
  mkdir -p "$HELM_DIR"
  rm -f "$HELM_DIR/helm"  # another version: only a build that succeeds leaves a binary
  build_log=$(mktemp)
  GOBIN="$HELM_DIR" GOFLAGS=-buildvcs=false "$(go_binary)" install -x "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    >"$build_log" 2>&1 &
  pid=$!
  watch_go_build helm "$build_log" "$pid" "$started" 15
  if ! wait "$pid" || [ ! -x "$HELM_DIR/helm" ]; then
    grep -v '^\(mkdir\|cd\|cat\|EOF\|packagefile\|/\)' "$build_log" | tail -20 >&2
    echo "$SETUP_NAME: building helm $HELM_VERSION failed (go install output above)" >&2
    rm -f "$build_log"
    exit 1
  fi
  rm -f "$build_log"
  log "helm built in $((SECONDS - started))s"
}

GHOST_VERSION=v1.1.6
GHOST_DIR="$HOME/.cache/shipit-tools"

setup_ghost() {
  # The gh-ost binary the online schema change tests drive, built from its Go module into $GHOST_DIR (outside the
  # repository; the tests look there); skipped when present. A failed build only warns: those tests then skip.
  # `go install module@version` cannot be used: the module proxy refuses gh-ost's version list, which it reads, so
  # the one served version is required by a throwaway module and built from there.
  if [ -x "$GHOST_DIR/gh-ost" ] && [ "$("$GHOST_DIR/gh-ost" --version 2>/dev/null)" = "${GHOST_VERSION#v}" ]; then
    return 0
  fi
  if ! go_binary >/dev/null; then
    log "Go not found: skipping the gh-ost build (the gh-ost tests will be skipped)"
    return 0
  fi
  log "building gh-ost $GHOST_VERSION from its Go module into $GHOST_DIR (about 2 minutes on 2 cores, once)"
  local started=$SECONDS build_log pid work go
  go=$(go_binary)
  mkdir -p "$GHOST_DIR"
  rm -f "$GHOST_DIR/gh-ost"  # another version: only a build that succeeds leaves a binary
  build_log=$(mktemp)
  work=$(mktemp -d)
  (
    cd "$work" && "$go" mod init shipit.local/ghost-build && "$go" get "github.com/github/gh-ost@$GHOST_VERSION" \
      && GOBIN="$GHOST_DIR" GOFLAGS="-buildvcs=false -mod=mod" "$go" install -x \
        -ldflags "-X main.AppVersion=${GHOST_VERSION#v}" github.com/github/gh-ost/go/cmd/gh-ost
  ) >"$build_log" 2>&1 &
  pid=$!
  watch_go_build gh-ost "$build_log" "$pid" "$started" 5
  if ! wait "$pid" || [ ! -x "$GHOST_DIR/gh-ost" ]; then
    { grep -v '^\(mkdir\|cd\|cat\|EOF\|packagefile\|/\)' "$build_log" || true; } | tail -20 >&2
    log "building gh-ost $GHOST_VERSION failed (output above): the gh-ost tests will be skipped"
    rm -f "$GHOST_DIR/gh-ost"
  else
    log "gh-ost built in $((SECONDS - started))s"
  fi
  rm -rf "$build_log" "$work"
  return 0
}

setup_all() { need_packages; setup_python; setup_mariadb; }
