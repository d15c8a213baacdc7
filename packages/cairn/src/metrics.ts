// The connection-level figures of a Cairn instance in its Prometheus registry, next to the
// checkpointer's operation metrics: PostgreSQL pool occupancy, the Redis layer's cache counters and
// circuit breaker, and the change feed's delivery counters. Each is read from the component's own
// stats() at scrape time, so nothing is counted twice and a scrape costs no I/O.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CairnDb } from '@cairn/db';
import type { ObjectStore } from '@cairn/objects';
import type { BreakerState, ChangeNotifier, RedisConnection } from '@cairn/redis';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/** A counter whose value is a running total kept elsewhere, read at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Registers the pool, Redis and notifier metrics of one Cairn instance. */
export function registerConnectionMetrics(
  registry: Registry,
  parts: { db: CairnDb; redis: RedisConnection | undefined; notifier: ChangeNotifier | undefined },
): void {
  const { db, redis, notifier } = parts;
  mirroredCounter(
    registry,
    'cairn_db_dropped_connections_total',
    'Idle pooled PostgreSQL connections lost (server restart, failover, network drop, idle timeouts); the next query gets a fresh one.',
    () => db.poolStats().droppedConnections,
  );
  new Gauge({
    name: 'cairn_db_pool_connections',
    help: 'PostgreSQL pool connections by state (total open, idle, callers waiting for one, configured max).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = db.poolStats();
      for (const state of ['total', 'idle', 'waiting', 'max'] as const) this.set({ state }, stats[state]);
    },
  });

  if (redis) {
    mirroredCounter(registry, 'cairn_redis_cache_hits_total', 'Redis cache lookups that found a value.', () => redis.stats().hits);
    mirroredCounter(registry, 'cairn_redis_cache_misses_total', 'Redis cache lookups that found nothing (including those refused while Redis was unavailable).', () => redis.stats().misses);
    mirroredCounter(registry, 'cairn_redis_errors_total', 'Redis calls that failed because Redis was unreachable, timed out, or the circuit breaker was open.', () => redis.stats().errors);
    mirroredCounter(registry, 'cairn_redis_stale_fills_rejected_total', 'Read-through cache fills refused because a newer write happened while loading.', () => redis.stats().staleFillsRejected);
    new Gauge({
      name: 'cairn_redis_breaker_state',
      help: 'The Redis circuit breaker: 1 for the current state, 0 for the others.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const current = redis.stats().breaker;
        for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cairn_redis_recovering',
      help: '1 while caches are being emptied after a Redis outage (they serve nothing meanwhile).',
      registers: [registry],
      collect() {
        this.set(redis.stats().recovering ? 1 : 0);
      },
    });
  }

  if (notifier) {
    mirroredCounter(registry, 'cairn_notifications_delivered_total', 'Change notification handler calls made.', () => notifier.stats().delivered);
    mirroredCounter(registry, 'cairn_notifications_malformed_total', 'Change notifications dropped because they were not valid events.', () => notifier.stats().malformed);
    mirroredCounter(registry, 'cairn_notifications_handler_errors_total', 'Change notification handlers that threw or rejected.', () => notifier.stats().handlerErrors);
  }
}

/** Registers the write-behind queue's figures (when the object store writes behind). */
export function registerObjectStoreMetrics(registry: Registry, objects: ObjectStore<'sync' | 'write-behind'>): void {
  if (objects.stats() === null) return;
  const read = (key: 'pending' | 'persisted' | 'deadLettered' | 'failedAttempts') => () => objects.stats()?.[key] ?? 0;
  new Gauge({
    name: 'cairn_write_behind_pending',
    help: 'Object writes queued and not yet persisted.',
    registers: [registry],
    collect() {
      this.set(read('pending')());
    },
  });
  mirroredCounter(registry, 'cairn_write_behind_persisted_total', 'Queued object writes persisted.', read('persisted'));
  mirroredCounter(registry, 'cairn_write_behind_dead_lettered_total', 'Queued object writes moved to write_behind_dead_letters after a permanent error.', read('deadLettered'));
  mirroredCounter(registry, 'cairn_write_behind_failed_attempts_total', 'Failed batch attempts of the write-behind queue.', read('failedAttempts'));
}
