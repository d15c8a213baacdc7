#!/usr/bin/env bash
# Makes sure the services Cairn's tests need are up on loopback: PostgreSQL (with the pgvector
# extension available) and Redis. Idempotent: every step checks before it acts, so running it
# twice is cheap. Debian bookworm ships no pgvector binary, so it is built from Debian's own source
# package when missing.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
REDIS_PORT=${REDIS_PORT:-6379}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
PGBOUNCER_DIR=${PGBOUNCER_DIR:-/var/lib/cairn-pgbouncer}
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

log() { printf '[setup-services] %s\n' "$*"; }

pg_ready() { pg_isready -h "$PGHOST" -p "$PGPORT" -q 2>/dev/null; }

if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { log "PostgreSQL is not reachable on $PGHOST:$PGPORT"; exit 1; }

psql_q() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAqc "$1"; }

if [ "$(psql_q "SELECT 1 FROM pg_available_extensions WHERE name='vector'")" != "1" ]; then
  pg_major=$(psql_q "SHOW server_version_num" | cut -c1-2)
  pg_config="/usr/lib/postgresql/${pg_major}/bin/pg_config"
  log "pgvector is missing: building it for PostgreSQL ${pg_major} from Debian's source package"
  list=/etc/apt/sources.list.d/cairn-trixie-src.list
  # A deb-src line only: it adds source packages and never changes which binaries apt installs.
  if [ ! -f "$list" ]; then echo 'deb-src http://deb.debian.org/debian trixie main' | $SUDO tee "$list" >/dev/null; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "postgresql-server-dev-${pg_major}" make gcc dpkg-dev >/dev/null
  work=$(mktemp -d)
  (
    cd "$work"
    apt-get source --download-only pgvector >/dev/null 2>&1
    tar xzf pgvector_*.orig.tar.gz
    cd pgvector-*/
    make -s PG_CONFIG="$pg_config" >/dev/null
    $SUDO make -s install PG_CONFIG="$pg_config" >/dev/null
  )
  rm -rf "$work"
  [ "$(psql_q "SELECT 1 FROM pg_available_extensions WHERE name='vector'")" = "1" ] || { log "pgvector build failed"; exit 1; }
  log "pgvector installed"
fi

# PING over bash's /dev/tcp, so the check needs no redis-cli (CI runners may lack it).
redis_ping() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ "$reply" == +PONG* ]]
}

if ! redis_ping; then
  command -v redis-server >/dev/null 2>&1 || { $SUDO apt-get install -y -qq redis-server >/dev/null; }
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_ping && break; sleep 0.5; done
fi
redis_ping || { log "Redis is not reachable on port $REDIS_PORT"; exit 1; }

# PgBouncer in transaction pooling on its own port, in front of the PostgreSQL above: the
# checkpointer, objects and rag suites run through it a second time (CAIRN_TEST_PGBOUNCER=1).
# Debian's package; its own config and pid file here, so the distribution's service stays untouched.
pgbouncer_ready() { pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q 2>/dev/null; }
if ! pgbouncer_ready; then
  if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    log "installing PgBouncer"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq pgbouncer >/dev/null
  fi
  pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  $SUDO mkdir -p "$PGBOUNCER_DIR"
  $SUDO tee "$PGBOUNCER_DIR/pgbouncer.ini" >/dev/null <<INI
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
auth_type = trust
auth_file = $PGBOUNCER_DIR/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
max_db_connections = 40
server_reset_query =
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
unix_socket_dir =
INI
  printf '"%s" ""\n' "$PGUSER" | $SUDO tee "$PGBOUNCER_DIR/userlist.txt" >/dev/null
  # PgBouncer refuses to run as root; Debian's package creates the postgres user.
  if [ "$(id -u)" = "0" ]; then
    chown -R postgres "$PGBOUNCER_DIR"
    runuser -u postgres -- "$pgbouncer_bin" -d "$PGBOUNCER_DIR/pgbouncer.ini"
  else
    "$pgbouncer_bin" -d "$PGBOUNCER_DIR/pgbouncer.ini"
  fi
  log "starting PgBouncer on $PGBOUNCER_PORT"
  for _ in $(seq 1 30); do pgbouncer_ready && break; sleep 0.5; done
fi
pgbouncer_ready || { log "PgBouncer is not reachable on port $PGBOUNCER_PORT"; exit 1; }

# Chromium for the demo's browser test (playwright-core drives Debian's build; Playwright's own
# browser download cannot run offline). Installed only when missing.
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] || { log "Chromium install failed"; exit 1; }
fi

log "PostgreSQL $(psql_q 'SHOW server_version') with pgvector available; PgBouncer on $PGBOUNCER_PORT; Redis on $REDIS_PORT"
