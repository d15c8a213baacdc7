#!/usr/bin/env bash
# The cluster run of the Redis-backed suites: the cache, the session store, core's input rules on
# Redis, the checkpointer's Redis conformance and the objects caches, against a 3-master Redis Cluster
# on loopback (scripts/redis-cluster.sh), through ioredis' Cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/redis-cluster.sh
export REDIS_URL="redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
export NODE_OPTIONS=--experimental-vm-modules
pnpm --filter @cairn/redis exec jest test/cache.test.ts test/session-store.test.ts test/input-rules.test.ts test/auto-pipelining.test.ts
pnpm --filter @cairn/checkpointer exec jest test/redis-conformance.test.ts
pnpm --filter @cairn/objects exec jest test/redis.test.ts test/cache-repair.test.ts
pnpm --filter @cairn/cairn exec jest test/redis-cluster.test.ts
