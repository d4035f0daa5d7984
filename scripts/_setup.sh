# Shared setup for scripts/test and scripts/demo (sourced, not run): a .venv with shipit and its dev extras, the
# MariaDB service on 127.0.0.1:3306 (started if installed but down), and Debian's Rails with mysql2.
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
  .venv/bin/python -c 'import shipit, typer, kubernetes, pymysql, git, tenacity, structlog, tree_sitter_ruby' \
    || { echo "$SETUP_NAME: the Python dependencies did not install" >&2; exit 1; }
}

mariadb_up() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot status >/dev/null 2>&1; }

setup_mariadb() {
  if ! mariadb_up; then
    if [ -x /usr/sbin/mariadbd ]; then
      log "starting MariaDB"
      as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
      for _ in $(seq 1 60); do mariadb_up && break; sleep 0.5; done
    fi
    mariadb_up || { echo "$SETUP_NAME: MariaDB is not reachable on 127.0.0.1:3306 and could not be started" >&2; exit 1; }
  fi
}

setup_rails() {
  if ! command -v rails >/dev/null 2>&1 || ! ruby -e 'require "mysql2"' >/dev/null 2>&1; then
    log "installing Debian's ruby-rails and ruby-mysql2"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq ruby-rails ruby-mysql2 >/dev/null
  fi
}

setup_all() { setup_python; setup_mariadb; setup_rails; }
