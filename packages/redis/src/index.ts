// @cairn/redis: the Redis layer: cache, TTL session storage, change notifications (Redis pub/sub or
// PostgreSQL LISTEN/NOTIFY), all degrading gracefully when Redis is away.
export { createRedis, RedisConnection, type RedisClient, type RedisStats, type RedisHealth, type RedisRecovery } from './connection.js';
export { RedisOptionsSchema, type RedisOptions } from './options.js';
export { RedisUrlSchema, parseRedisUrl, type ClusterUrl } from './redis-url.js';
export { CircuitBreaker, type BreakerState, type BreakerOptions } from './circuit-breaker.js';
export { RedisCache, Uncached, composeCacheKey, CacheOptionsSchema, MAX_CACHE_KEY_BYTES, type CacheOptions, type CacheSetOptions } from './cache.js';
export { RedisSessionStore, SessionStoreOptionsSchema, type SessionStoreOptions } from './session-store.js';
export {
  RedisNotifier,
  RedisNotifierOptionsSchema,
  PostgresNotifier,
  MAX_NOTIFY_PAYLOAD_BYTES,
  type ChangeNotifier,
  type TenantNotifier,
  type Unsubscribe,
  type EventHandler,
  type NotifierStats,
  type NotifierDatabase,
  type RedisNotifierOptions,
} from './notifier.js';
export { CairnEventSchema, type CairnEvent } from './events.js';
export { createStreamPubSub, type StreamPubSub, type StreamPublisher, type StreamSubscriber } from './stream-pubsub.js';
export { RedisConnectionSchema, ChangeNotifierSchema } from './shapes.js';
export { RedisLayerError, RedisUnavailableError, NotificationError } from './errors.js';
