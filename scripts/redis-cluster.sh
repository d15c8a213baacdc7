#!/usr/bin/env bash
# Starts a Redis Cluster on loopback for the cluster runs of the test suites: 3 masters and 3
# replicas (one per master) on ports of their own (7000–7005 by default), with no persistence.
# Idempotent and fast when the cluster already answers: every node is checked before it is
# started, and the slots are assigned only when no node knows of a cluster yet.
# The default Redis on 6379 is never touched.
set -euo pipefail

BASE_PORT=${REDIS_CLUSTER_BASE_PORT:-7000}
NODES=6
DIR=${REDIS_CLUSTER_DIR:-/var/lib/cairn-redis-cluster}
# Short: a test that fails a master over waits this long for a replica to take over.
NODE_TIMEOUT_MS=${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}

log() { printf '[redis-cluster] %s\n' "$*"; }
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi

ports=()
for i in $(seq 0 $((NODES - 1))); do ports+=($((BASE_PORT + i))); done

cluster_ok() { [ "$(cli "$BASE_PORT" cluster info 2>/dev/null | tr -d '\r' | grep '^cluster_state:' || true)" = "cluster_state:ok" ]; }

if cluster_ok && [ "$(cli "$BASE_PORT" cluster nodes 2>/dev/null | grep -cw connected || true)" -ge "$NODES" ]; then
  log "Redis Cluster answers on ${ports[0]}–${ports[-1]}"
  exit 0
fi

mkdir -p "$DIR"
for port in "${ports[@]}"; do
  if [ "$(cli "$port" ping 2>/dev/null || true)" = "PONG" ]; then continue; fi
  mkdir -p "$DIR/$port"
  # A node that restarts without persistence must not rejoin with a stale nodes.conf.
  rm -f "$DIR/$port/nodes.conf"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
    --cluster-config-file "$DIR/$port/nodes.conf" --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --save "" --appendonly no --dir "$DIR/$port" --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 50); do [ "$(cli "$port" ping 2>/dev/null || true)" = "PONG" ] && break; sleep 0.1; done
  [ "$(cli "$port" ping 2>/dev/null || true)" = "PONG" ] || { log "node $port did not start (see $DIR/$port/redis.log)"; exit 1; }
done

known=$(cli "$BASE_PORT" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')
if [ "${known:-1}" -le 1 ]; then
  log "creating the cluster: 3 masters, 1 replica each"
  hosts=()
  for port in "${ports[@]}"; do hosts+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
fi
for _ in $(seq 1 100); do cluster_ok && break; sleep 0.1; done
cluster_ok || { log "the cluster did not reach cluster_state:ok"; cli "$BASE_PORT" cluster info; exit 1; }
log "Redis Cluster up on ${ports[0]}–${ports[-1]}"
