// Errors raised by @cairn/redis. Cache calls never raise for a Redis outage (they degrade);
// these reach callers only from explicit operations (publish, subscribe, sessions, ready()).
import { CairnError, type CairnErrorOptions } from '@cairn/core';

/** Base class of @cairn/redis errors. */
export class RedisLayerError extends CairnError {
  override readonly name: string = 'RedisLayerError';
}

/** Redis did not answer, or the circuit breaker is open and the call was not attempted. */
export class RedisUnavailableError extends RedisLayerError {
  override readonly name = 'RedisUnavailableError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('REDIS_UNAVAILABLE', message, { category: 'unavailable', ...options });
  }
}

/**
 * A notification could not be sent or subscribed to: too large for LISTEN/NOTIFY, the transport
 * failed, or the transport cannot serve the request (a cross-tenant subscription on sharded pub/sub).
 */
export class NotificationError extends RedisLayerError {
  override readonly name = 'NotificationError';
  constructor(code: 'NOTIFICATION_TOO_LARGE' | 'NOTIFICATION_FAILED' | 'NOTIFICATION_UNSUPPORTED', message: string, options: CairnErrorOptions = {}) {
    super(code, message, { category: code === 'NOTIFICATION_FAILED' ? 'unavailable' : 'invalid_input', ...options });
  }
}
