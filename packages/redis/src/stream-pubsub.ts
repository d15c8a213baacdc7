// The publisher and subscriber the `resumable-stream` package asks for (its generic interface), on a
// RedisConnection: keys and channels under the connection's prefix (the caller passes it as the
// package's keyPrefix), commands through the breaker, one subscriber connection of its own.
//
// The package awaits some of these calls inside a stream's read loop, where nothing catches a
// rejection: a failed PUBLISH, SET or UNSUBSCRIBE there would be an unhandled rejection and would
// stall the stream the client is reading. So those never reject (a resumer then misses what Redis
// did not get, and the caller learns it from `failures`); SUBSCRIBE, GET and INCR, which the package
// awaits where its caller can catch, reject with RedisUnavailableError, after `timeoutMs` at most.
import type { RedisClient, RedisConnection } from './connection.js';
import { RedisUnavailableError } from './errors.js';

/** resumable-stream's Publisher (generic interface). */
export interface StreamPublisher {
  connect(): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  set(key: string, value: string, options?: { EX?: number }): Promise<unknown>;
  get(key: string): Promise<string | number | null>;
  incr(key: string): Promise<number>;
}

/** resumable-stream's Subscriber (generic interface). */
export interface StreamSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, callback: (message: string) => void): Promise<void | number>;
  unsubscribe(channel: string): Promise<unknown>;
}

/** What createStreamPubSub returns. */
export interface StreamPubSub {
  readonly publisher: StreamPublisher;
  readonly subscriber: StreamSubscriber;
  /** Publishes, SETs and UNSUBSCRIBEs that failed (and were swallowed, see above). */
  failures(): number;
  /** Closes the subscriber connection (the command connection is the caller's). */
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A publisher and a subscriber for `resumable-stream`'s `createResumableStreamContext` (from
 * `resumable-stream/generic`) on `redis`. Pass `keyPrefix: redis.key('streams')` to the package so
 * its keys and channels sit under this connection's prefix.
 */
export function createStreamPubSub(redis: RedisConnection, options: { timeoutMs?: number } = {}): StreamPubSub {
  const timeoutMs = options.timeoutMs ?? 2_000;
  let failed = 0;
  let client: RedisClient | undefined;
  const callbacks = new Map<string, (message: string) => void>();
  const subscriberClient = (): RedisClient => {
    if (!client) {
      client = redis.duplicate();
      client.on('message', (channel: string, message: string) => callbacks.get(channel)?.(message));
    }
    return client;
  };
  const quietly = async (op: (c: RedisClient) => Promise<unknown>): Promise<unknown> => {
    try {
      return await redis.run(op);
    } catch {
      failed += 1;
      return undefined;
    }
  };
  const publisher: StreamPublisher = {
    connect: () => redis.ready(timeoutMs),
    publish: (channel, message) => quietly((c) => c.publish(channel, message)),
    set: (key, value, setOptions) => quietly((c) => (setOptions?.EX === undefined ? c.set(key, value) : c.set(key, value, 'EX', setOptions.EX))),
    get: (key) => redis.run((c) => c.get(key)),
    incr: (key) => redis.run((c) => c.incr(key)),
  };
  const subscriber: StreamSubscriber = {
    connect: () => redis.ready(timeoutMs),
    async subscribe(channel, callback) {
      if (!redis.serving) throw new RedisUnavailableError('Redis is unavailable: cannot subscribe');
      callbacks.set(channel, callback);
      try {
        await withTimeout(subscriberClient().subscribe(channel), timeoutMs, `SUBSCRIBE ${channel}`);
      } catch (error) {
        callbacks.delete(channel);
        throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(`SUBSCRIBE failed: ${(error as Error).message}`, { cause: error });
      }
    },
    async unsubscribe(channel) {
      callbacks.delete(channel);
      try {
        if (client) await withTimeout(client.unsubscribe(channel), timeoutMs, `UNSUBSCRIBE ${channel}`);
      } catch {
        failed += 1;
      }
    },
  };
  return {
    publisher,
    subscriber,
    failures: () => failed,
    async close() {
      callbacks.clear();
      const c = client;
      client = undefined;
      if (c && c.status !== 'end') await c.quit().catch(() => c.disconnect());
    },
  };
}
