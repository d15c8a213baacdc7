// Change notifications behind one interface, on Redis pub/sub or on PostgreSQL LISTEN/NOTIFY
// (so they work without Redis, and on the embedded database).
import pg from 'pg';
import { parseInput } from '@cairn/core';
import { CairnEventSchema, channelSchema, patternSchema, patternToRegExp, type CairnEvent } from './events.js';
import type { RedisClient, RedisConnection } from './connection.js';
import { NotificationError } from './errors.js';

/** Receives an event and the channel it came on. Exceptions are contained and counted. */
export type EventHandler = (channel: string, event: CairnEvent) => void | Promise<void>;

/** Counters of a notifier since it was created. */
export interface NotifierStats {
  /** Handler calls made (one event matching two subscriptions counts twice). */
  delivered: number;
  /** Messages dropped because they were not valid CairnEvents. */
  malformed: number;
  /** Handlers that threw or rejected (the other handlers still ran). */
  handlerErrors: number;
}

/** Publish and subscribe to CairnEvents. Delivery is at most once: events published while a subscriber is disconnected are lost. */
export interface ChangeNotifier {
  /** Validates and sends `event` on `channel` (letters, digits, `: _ . -`). */
  publish(channel: string, event: CairnEvent): Promise<void>;
  /**
   * Subscribes to channels matching `pattern` (`*` = any run). Resolves once the subscription is
   * active; while the transport is unreachable, RedisNotifier resolves after its command timeout
   * and the subscription starts when Redis is back.
   */
  subscribe(pattern: string, handler: EventHandler): Promise<() => Promise<void>>;
  /** Deliveries, messages dropped because they were not valid events, and handler exceptions. */
  stats(): NotifierStats;
  /** Drops every subscription and closes the listening connection (not the shared one). */
  close(): Promise<void>;
}

interface Subscription {
  regex: RegExp;
  handler: EventHandler;
}

/** Dispatching shared by both transports: validate, match, call handlers. */
class Dispatcher {
  readonly subscriptions = new Set<Subscription>();
  readonly counters = { delivered: 0, malformed: 0, handlerErrors: 0 };

  dispatch(channel: string, payload: string): void {
    let event: CairnEvent;
    try {
      event = CairnEventSchema.parse(JSON.parse(payload));
    } catch {
      this.counters.malformed += 1;
      return;
    }
    for (const sub of this.subscriptions) {
      if (!sub.regex.test(channel)) continue;
      this.counters.delivered += 1;
      try {
        void Promise.resolve(sub.handler(channel, event)).catch(() => {
          this.counters.handlerErrors += 1;
        });
      } catch {
        this.counters.handlerErrors += 1;
      }
    }
  }
}

/** Notifications over Redis pub/sub, on a subscriber connection of its own. */
export class RedisNotifier implements ChangeNotifier {
  readonly #redis: RedisConnection;
  readonly #dispatcher = new Dispatcher();
  #subscriber: RedisClient | undefined;
  readonly #patterns = new Map<string, number>();

  constructor(redis: RedisConnection) {
    this.#redis = redis;
  }

  async publish(channel: string, event: CairnEvent): Promise<void> {
    const name = parseInput(channelSchema, channel, 'channel');
    const payload = JSON.stringify(parseInput(CairnEventSchema, event, 'event'));
    try {
      await this.#redis.client.publish(this.#redis.key(name), payload);
    } catch (cause) {
      throw new NotificationError('NOTIFICATION_FAILED', `Could not publish to ${name}: ${(cause as Error).message}`, { cause });
    }
  }

  #connect(): RedisClient {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = this.#redis.duplicate();
    const prefix = this.#redis.keyPrefix;
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      this.#dispatcher.dispatch(channel.slice(prefix.length), message);
    });
    // ioredis re-subscribes only to patterns Redis had acknowledged; a PSUBSCRIBE sent during an
    // outage is dropped from its queue. So every (re)connection subscribes to the whole wanted set
    // (PSUBSCRIBE is idempotent).
    subscriber.on('ready', () => {
      const wanted = [...this.#patterns.keys()];
      if (wanted.length > 0) subscriber.psubscribe(...wanted).catch(() => undefined);
    });
    this.#subscriber = subscriber;
    return subscriber;
  }

  async subscribe(pattern: string, handler: EventHandler): Promise<() => Promise<void>> {
    const p = parseInput(patternSchema, pattern, 'channel pattern');
    const subscriber = this.#connect();
    const sub: Subscription = { regex: patternToRegExp(p), handler };
    const redisPattern = this.#redis.key(p);
    const count = this.#patterns.get(redisPattern) ?? 0;
    this.#patterns.set(redisPattern, count + 1);
    this.#dispatcher.subscriptions.add(sub);
    if (count === 0) {
      try {
        await subscriber.psubscribe(redisPattern);
      } catch (err) {
        if (err instanceof Error && err.name === 'ReplyError') {
          // Redis refused (an ACL, say): nothing was subscribed.
          this.#dispatcher.subscriptions.delete(sub);
          this.#patterns.set(redisPattern, count);
          throw new NotificationError('NOTIFICATION_FAILED', `Could not subscribe to ${p}: ${err.message}`, { cause: err });
        }
        // Redis is unreachable: the subscription takes effect when the subscriber connection is
        // ready again (see #connect). Waiting for that here would hang callers through an outage.
      }
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      this.#dispatcher.subscriptions.delete(sub);
      const left = (this.#patterns.get(redisPattern) ?? 1) - 1;
      this.#patterns.set(redisPattern, left);
      if (left === 0) {
        this.#patterns.delete(redisPattern);
        await subscriber.punsubscribe(redisPattern).catch(() => undefined);
      }
    };
  }

  stats(): NotifierStats {
    return { ...this.#dispatcher.counters };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    this.#dispatcher.subscriptions.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber && subscriber.status !== 'end') await subscriber.quit().catch(() => subscriber.disconnect());
  }
}

/** What PostgresNotifier needs of @cairn/db's CairnDb. */
export interface NotifierDatabase {
  readonly pool: pg.Pool;
  clientConfig(): pg.ClientConfig;
}

/** PostgreSQL NOTIFY payloads must be shorter than 8000 bytes. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7_999;
const PG_CHANNEL = 'cairn_events';

/**
 * Notifications over PostgreSQL LISTEN/NOTIFY. All Cairn channels share one PostgreSQL channel;
 * the Cairn channel travels in the payload and patterns are matched here. The listening
 * connection reconnects with backoff; NOTIFY is transactional, so an event published inside a
 * rolled-back transaction is never delivered.
 */
export class PostgresNotifier implements ChangeNotifier {
  readonly #db: NotifierDatabase;
  readonly #dispatcher = new Dispatcher();
  #listener: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(db: NotifierDatabase) {
    this.#db = db;
  }

  async publish(channel: string, event: CairnEvent): Promise<void> {
    const name = parseInput(channelSchema, channel, 'channel');
    const payload = JSON.stringify({ c: name, e: parseInput(CairnEventSchema, event, 'event') });
    if (Buffer.byteLength(payload) > MAX_NOTIFY_PAYLOAD_BYTES) {
      throw new NotificationError('NOTIFICATION_TOO_LARGE', `Event for ${name} is ${Buffer.byteLength(payload)} bytes; LISTEN/NOTIFY carries at most ${MAX_NOTIFY_PAYLOAD_BYTES}`);
    }
    try {
      // Through the listening connection when there is one: on the embedded database (PGlite, one
      // backend multiplexed over connections) a notification only reaches the connection that sent it.
      await (this.#listener ?? this.#db.pool).query('SELECT pg_notify($1, $2)', [PG_CHANNEL, payload]);
    } catch (cause) {
      throw new NotificationError('NOTIFICATION_FAILED', `Could not publish to ${name}: ${(cause as Error).message}`, { cause });
    }
  }

  #connect(attempt = 0): Promise<pg.Client> {
    if (this.#listener) return Promise.resolve(this.#listener);
    this.#connecting ??= (async () => {
      const client = new pg.Client(this.#db.clientConfig());
      client.on('notification', (msg) => {
        if (msg.channel !== PG_CHANNEL || !msg.payload) return;
        try {
          const { c, e } = JSON.parse(msg.payload) as { c: unknown; e: unknown };
          if (typeof c !== 'string') throw new Error('no channel');
          this.#dispatcher.dispatch(c, JSON.stringify(e));
        } catch {
          this.#dispatcher.counters.malformed += 1;
        }
      });
      const lost = () => {
        if (this.#listener !== client) return;
        this.#listener = undefined;
        this.#scheduleReconnect(attempt + 1);
      };
      client.on('error', lost);
      client.on('end', lost);
      try {
        await client.connect();
        await client.query(`LISTEN ${PG_CHANNEL}`);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.#listener = client;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #scheduleReconnect(attempt: number): void {
    if (this.#closed || this.#dispatcher.subscriptions.size === 0 || this.#reconnectTimer) return;
    const delay = Math.min(5_000, 50 * 2 ** Math.min(attempt, 7));
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect(attempt).catch(() => this.#scheduleReconnect(attempt + 1));
    }, delay);
    this.#reconnectTimer.unref();
  }

  async subscribe(pattern: string, handler: EventHandler): Promise<() => Promise<void>> {
    const p = parseInput(patternSchema, pattern, 'channel pattern');
    await this.#connect();
    const sub: Subscription = { regex: patternToRegExp(p), handler };
    this.#dispatcher.subscriptions.add(sub);
    return async () => {
      this.#dispatcher.subscriptions.delete(sub);
    };
  }

  stats(): NotifierStats {
    return { ...this.#dispatcher.counters };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#dispatcher.subscriptions.clear();
    const client = this.#listener ?? (await this.#connecting?.catch(() => undefined));
    this.#listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
