// Change notifications behind one interface, on Redis pub/sub or on PostgreSQL LISTEN/NOTIFY
// (so they work without Redis, and on the embedded database). Every event belongs to a tenant, and
// so does every subscription: `forTenant(id)` is the door Cairn's components use, and a tenant's
// subscriber, whatever its pattern, never receives another tenant's events. Only
// `subscribeAllTenants` crosses tenants, and says so.
import pg from 'pg';
import { z } from 'zod';
import { BackoffSchedule, checkTenantId, parseInput, ValidationError } from '@cairn/core';
import { CairnEventSchema, channelSchema, patternSchema, patternToRegExp, type CairnEvent } from './events.js';
import { Cluster } from 'ioredis';
import type { RedisClient, RedisConnection } from './connection.js';
import { NotificationError } from './errors.js';

/** Receives an event and the channel it came on. Exceptions are contained and counted. */
export type EventHandler = (channel: string, event: CairnEvent) => void | Promise<void>;

/** Ends a subscription (idempotent). */
export type Unsubscribe = () => Promise<void>;

/** Counters of a notifier since it was created. */
export interface NotifierStats {
  /** Handler calls made (one event matching two subscriptions counts twice). */
  delivered: number;
  /** Messages dropped because they were not valid CairnEvents, or came on another tenant's channel. */
  malformed: number;
  /** Handlers that threw or rejected (the other handlers still ran). */
  handlerErrors: number;
}

/**
 * One tenant's change feed on a notifier: it publishes that tenant's events only, and its
 * subscriptions receive that tenant's events only, whatever the pattern (`*` included).
 */
export interface TenantNotifier {
  /** The tenant this feed is confined to. */
  readonly tenantId: string;
  /** Validates and sends `event` on `channel`; an event of another tenant is a ValidationError and is not sent. */
  publish(channel: string, event: CairnEvent): Promise<void>;
  /** Subscribes to this tenant's events on channels matching `pattern` (`*` = any run); see ChangeNotifier.subscribeAllTenants for when it resolves. */
  subscribe(pattern: string, handler: EventHandler): Promise<Unsubscribe>;
}

/**
 * Publish and subscribe to CairnEvents: a transport (RedisNotifier, PostgresNotifier) that hands
 * out tenant feeds. Delivery is at most once: events published while a subscriber is disconnected are lost.
 */
export interface ChangeNotifier {
  /** This transport confined to one tenant (a ValidationError for an invalid tenant id). Cheap: a view, not a connection. */
  forTenant(tenantId: string): TenantNotifier;
  /** Validates and sends `event` (letters, digits, `: _ . -` in `channel`) on the feed of the tenant it names. */
  publish(channel: string, event: CairnEvent): Promise<void>;
  /**
   * Cross-tenant: every tenant's events on channels matching `pattern`, for operators' tools
   * (audit, metrics), never for a component serving one tenant (use `forTenant(id).subscribe`).
   * Resolves once the subscription is active; while the transport is unreachable, RedisNotifier
   * resolves after its command timeout and the subscription starts when Redis is back.
   */
  subscribeAllTenants(pattern: string, handler: EventHandler): Promise<Unsubscribe>;
  /** Deliveries, messages dropped because they were not valid events, and handler exceptions. */
  stats(): NotifierStats;
  /** Drops every subscription (of every tenant feed) and closes the listening connection (not the shared one). */
  close(): Promise<void>;
}

interface Subscription {
  regex: RegExp;
  /** The tenant whose events it receives; undefined: every tenant's (subscribeAllTenants). */
  tenantId: string | undefined;
  handler: EventHandler;
  /** The transport's own pattern this subscription was made with (Redis delivers a message once per matching pattern). */
  wirePattern: string | undefined;
}

/** Dispatching shared by both transports: validate, match tenant and channel, call handlers. */
class Dispatcher {
  readonly subscriptions = new Set<Subscription>();
  readonly counters = { delivered: 0, malformed: 0, handlerErrors: 0 };

  /**
   * Delivers `payload`, received on `channel` of `tenantId` (undefined when the transport does not
   * carry the tenant apart from the event), to the subscriptions made with `wirePattern`
   * (undefined: all of them).
   */
  dispatch(channel: string, payload: string, tenantId?: string, wirePattern?: string): void {
    let event: CairnEvent;
    try {
      event = CairnEventSchema.parse(JSON.parse(payload));
    } catch {
      this.counters.malformed += 1;
      return;
    }
    // Sent on one tenant's channel but naming another: not published through a notifier.
    if (tenantId !== undefined && event.tenantId !== tenantId) {
      this.counters.malformed += 1;
      return;
    }
    for (const sub of this.subscriptions) {
      if (sub.tenantId !== undefined && sub.tenantId !== event.tenantId) continue;
      if (wirePattern !== undefined && sub.wirePattern !== wirePattern) continue;
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

/** A validated channel name and event. */
function checkPublish(channel: string, event: CairnEvent): [string, CairnEvent] {
  return [parseInput(channelSchema, channel, 'channel'), parseInput(CairnEventSchema, event, 'event')];
}

/** What a tenant feed needs of its transport. */
interface Transport {
  send(channel: string, event: CairnEvent): Promise<void>;
  listen(pattern: string, handler: EventHandler, tenantId: string | undefined): Promise<Unsubscribe>;
}

/** A tenant's feed on a transport: refuses other tenants' events on publish, subscribes within the tenant. */
class TenantFeed implements TenantNotifier {
  readonly tenantId: string;
  readonly #transport: Transport;

  constructor(tenantId: string, transport: Transport) {
    this.tenantId = checkTenantId(tenantId);
    this.#transport = transport;
  }

  async publish(channel: string, event: CairnEvent): Promise<void> {
    const [name, valid] = checkPublish(channel, event);
    if (valid.tenantId !== this.tenantId) {
      throw new ValidationError('event', [
        { path: 'tenantId', message: `must be ${JSON.stringify(this.tenantId)}, the tenant of this notifier (is ${JSON.stringify(valid.tenantId)})` },
      ]);
    }
    await this.#transport.send(name, valid);
  }

  subscribe(pattern: string, handler: EventHandler): Promise<Unsubscribe> {
    return this.#transport.listen(pattern, handler, this.tenantId);
  }

  toJSON(): { tenantId: string } {
    return { tenantId: this.tenantId };
  }
}

/** What both transports share: validation, tenant feeds, the cross-tenant subscription, counters. */
abstract class Notifier implements ChangeNotifier {
  protected readonly dispatcher = new Dispatcher();
  readonly #transport: Transport = {
    send: (channel, event) => this.send(channel, event),
    // async: an invalid pattern is a rejection, as every other failure to subscribe.
    listen: async (pattern, handler, tenantId) => this.listen(parseInput(patternSchema, pattern, 'channel pattern'), handler, tenantId),
  };

  forTenant(tenantId: string): TenantNotifier {
    return new TenantFeed(tenantId, this.#transport);
  }

  async publish(channel: string, event: CairnEvent): Promise<void> {
    const [name, valid] = checkPublish(channel, event);
    await this.send(name, valid);
  }

  subscribeAllTenants(pattern: string, handler: EventHandler): Promise<Unsubscribe> {
    return this.#transport.listen(pattern, handler, undefined);
  }

  stats(): NotifierStats {
    return { ...this.dispatcher.counters };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  abstract close(): Promise<void>;

  /** Sends a validated event on a validated channel, on the feed of the event's tenant. */
  protected abstract send(channel: string, event: CairnEvent): Promise<void>;

  /** Subscribes `handler` to a validated pattern, for one tenant or (undefined) all of them. */
  protected abstract listen(pattern: string, handler: EventHandler, tenantId: string | undefined): Promise<Unsubscribe>;
}

/**
 * Redis channel of a Cairn channel: `<keyPrefix>t/<tenantId>/<channel>`. Neither tenant ids nor
 * channels contain `/`, and tenant ids contain no glob character, so the pattern
 * `<keyPrefix>t/acme/*` matches tenant `acme`'s channels only (not `acme.eu`'s), and Redis itself
 * sends a tenant's subscriber nothing of another tenant.
 */
const TENANT_CHANNEL = /^t\/([^/]+)\/(.+)$/;

/**
 * The shard channel of a tenant on a cluster: `<keyPrefix>{t/<tenantId>}`. The hash tag puts all of
 * a tenant's events on one shard, so SPUBLISH travels to that shard's nodes only instead of to every
 * node of the cluster; the Cairn channel travels in the payload, and patterns are matched here.
 */
const TENANT_SHARD_CHANNEL = /^\{t\/([^/]+)\}$/;

/** Options of `new RedisNotifier(redis, options)`. */
export const RedisNotifierOptionsSchema = z
  .object({
    /**
     * Sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7+), one shard channel per tenant. A tenant's
     * events then reach only the nodes of its shard; subscribeAllTenants cannot be served (sharded
     * pub/sub has no patterns) and rejects with NOTIFICATION_UNSUPPORTED. Classic pub/sub on a
     * cluster still works, but every PUBLISH is broadcast to every node.
     * @defaultValue true on a Redis Cluster connection, false on a single node (where it gains nothing)
     */
    sharded: z.boolean().optional(),
  })
  .strict();
/** Options of `new RedisNotifier(redis, options)`. */
export type RedisNotifierOptions = z.input<typeof RedisNotifierOptionsSchema>;

/**
 * Notifications over Redis pub/sub, on a subscriber connection of its own. Each tenant's events
 * travel on channels of their own: `<keyPrefix>t/<tenantId>/<channel>` (pattern subscriptions), or
 * with `sharded`, the tenant's shard channel.
 */
export class RedisNotifier extends Notifier {
  readonly #redis: RedisConnection;
  readonly #sharded: boolean;
  #subscriber: RedisClient | undefined;
  /** Wire patterns (classic) or shard channels (sharded) this notifier wants, with their subscription counts. */
  readonly #patterns = new Map<string, number>();

  constructor(redis: RedisConnection, options: RedisNotifierOptions = {}) {
    super();
    this.#redis = redis;
    this.#sharded = parseInput(RedisNotifierOptionsSchema, options, 'notifier options').sharded ?? redis.isCluster;
  }

  /** Whether this notifier uses sharded pub/sub. */
  get sharded(): boolean {
    return this.#sharded;
  }

  #shardChannel(tenantId: string): string {
    return `${this.#redis.keyPrefix}{t/${tenantId}}`;
  }

  /**
   * Where a classic PUBLISH goes. A cluster sends a command without keys to any node, and two
   * PUBLISHes through different nodes may arrive out of order; through one master they keep the
   * order of the publisher (the cluster bus forwards each node's messages in order).
   */
  #classicPublisher(): RedisClient {
    const client = this.#redis.client;
    if (!(client instanceof Cluster)) return client;
    const masters = client.nodes('master').filter((node) => node.status === 'ready');
    masters.sort((x, y) => `${x.options.host ?? ''}:${x.options.port ?? 0}`.localeCompare(`${y.options.host ?? ''}:${y.options.port ?? 0}`));
    return masters[0] ?? client;
  }

  protected async send(channel: string, event: CairnEvent): Promise<void> {
    try {
      if (this.#sharded) await this.#redis.client.spublish(this.#shardChannel(event.tenantId), JSON.stringify({ c: channel, e: event }));
      else await this.#classicPublisher().publish(`${this.#redis.keyPrefix}t/${event.tenantId}/${channel}`, JSON.stringify(event));
    } catch (cause) {
      throw new NotificationError('NOTIFICATION_FAILED', `Could not publish to ${channel}: ${(cause as Error).message}`, { cause });
    }
  }

  #connect(): RedisClient {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = this.#redis.duplicate();
    const prefix = this.#redis.keyPrefix;
    subscriber.on('pmessage', (pattern: string, channel: string, message: string) => {
      const parts = TENANT_CHANNEL.exec(channel.slice(prefix.length));
      if (!parts) {
        this.dispatcher.counters.malformed += 1;
        return;
      }
      this.dispatcher.dispatch(parts[2]!, message, parts[1], pattern);
    });
    subscriber.on('smessage', (shardChannel: string, message: string) => {
      const tenant = TENANT_SHARD_CHANNEL.exec(shardChannel.slice(prefix.length));
      let parsed: { c?: unknown; e?: unknown };
      try {
        parsed = JSON.parse(message) as { c?: unknown; e?: unknown };
      } catch {
        parsed = {};
      }
      if (!tenant || typeof parsed.c !== 'string') {
        this.dispatcher.counters.malformed += 1;
        return;
      }
      // One SSUBSCRIBE per tenant channel: each message arrives once, for every subscription of the tenant.
      this.dispatcher.dispatch(parsed.c, JSON.stringify(parsed.e), tenant[1]);
    });
    // ioredis re-subscribes only to channels Redis had acknowledged; a (P|S)SUBSCRIBE sent during an
    // outage is dropped from its queue. So every (re)connection subscribes to the whole wanted set
    // (both are idempotent).
    subscriber.on('ready', () => {
      const wanted = [...this.#patterns.keys()];
      if (wanted.length === 0) return;
      if (this.#sharded) for (const channel of wanted) subscriber.ssubscribe(channel).catch(() => undefined);
      else subscriber.psubscribe(...wanted).catch(() => undefined);
    });
    this.#subscriber = subscriber;
    return subscriber;
  }

  protected async listen(p: string, handler: EventHandler, tenantId: string | undefined): Promise<Unsubscribe> {
    if (this.#sharded && tenantId === undefined) {
      throw new NotificationError('NOTIFICATION_UNSUPPORTED', 'subscribeAllTenants needs classic pub/sub: sharded pub/sub has no patterns (new RedisNotifier(redis, { sharded: false }))');
    }
    const subscriber = this.#connect();
    const wire = tenantId !== undefined && this.#sharded ? this.#shardChannel(tenantId) : `${this.#redis.keyPrefix}t/${tenantId ?? '*'}/${p}`;
    const sub: Subscription = { regex: patternToRegExp(p), tenantId, handler, wirePattern: this.#sharded ? undefined : wire };
    const count = this.#patterns.get(wire) ?? 0;
    this.#patterns.set(wire, count + 1);
    this.dispatcher.subscriptions.add(sub);
    if (count === 0) {
      try {
        if (this.#sharded) await subscriber.ssubscribe(wire);
        else await subscriber.psubscribe(wire);
      } catch (err) {
        if (err instanceof Error && err.name === 'ReplyError') {
          // Redis refused (an ACL, say): nothing was subscribed.
          this.dispatcher.subscriptions.delete(sub);
          this.#patterns.set(wire, count);
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
      this.dispatcher.subscriptions.delete(sub);
      const left = (this.#patterns.get(wire) ?? 1) - 1;
      this.#patterns.set(wire, left);
      if (left === 0) {
        this.#patterns.delete(wire);
        await (this.#sharded ? subscriber.sunsubscribe(wire) : subscriber.punsubscribe(wire)).catch(() => undefined);
      }
    };
  }

  override async close(): Promise<void> {
    this.dispatcher.subscriptions.clear();
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
/** Waits between attempts to bring the listening connection back: core's backoff, 100 ms doubling to 5 s. */
const LISTEN_RECONNECT = new BackoffSchedule({ initialDelayMs: 100, maxDelayMs: 5_000 });

/**
 * Notifications over PostgreSQL LISTEN/NOTIFY. All Cairn channels of all tenants share one
 * PostgreSQL channel; the Cairn channel travels in the payload, and patterns and tenants are
 * matched here (every listening process receives every tenant's payloads; a tenant's handlers
 * see only its own). The listening connection reconnects with backoff; NOTIFY is transactional,
 * so an event published inside a rolled-back transaction is never delivered.
 */
export class PostgresNotifier extends Notifier {
  readonly #db: NotifierDatabase;
  #listener: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(db: NotifierDatabase) {
    super();
    this.#db = db;
  }

  protected async send(channel: string, event: CairnEvent): Promise<void> {
    const payload = JSON.stringify({ c: channel, e: event });
    if (Buffer.byteLength(payload) > MAX_NOTIFY_PAYLOAD_BYTES) {
      throw new NotificationError('NOTIFICATION_TOO_LARGE', `Event for ${channel} is ${Buffer.byteLength(payload)} bytes; LISTEN/NOTIFY carries at most ${MAX_NOTIFY_PAYLOAD_BYTES}`);
    }
    try {
      // Through the listening connection when there is one: on the embedded database (PGlite, one
      // backend multiplexed over connections) a notification only reaches the connection that sent it.
      await (this.#listener ?? this.#db.pool).query('SELECT pg_notify($1, $2)', [PG_CHANNEL, payload]);
    } catch (cause) {
      throw new NotificationError('NOTIFICATION_FAILED', `Could not publish to ${channel}: ${(cause as Error).message}`, { cause });
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
          this.dispatcher.dispatch(c, JSON.stringify(e));
        } catch {
          this.dispatcher.counters.malformed += 1;
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
    if (this.#closed || this.dispatcher.subscriptions.size === 0 || this.#reconnectTimer) return;
    const delay = LISTEN_RECONNECT.delayBeforeRetry(attempt);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect(attempt).catch(() => this.#scheduleReconnect(attempt + 1));
    }, delay);
    this.#reconnectTimer.unref();
  }

  protected async listen(p: string, handler: EventHandler, tenantId: string | undefined): Promise<Unsubscribe> {
    await this.#connect();
    const sub: Subscription = { regex: patternToRegExp(p), tenantId, handler, wirePattern: undefined };
    this.dispatcher.subscriptions.add(sub);
    return async () => {
      this.dispatcher.subscriptions.delete(sub);
    };
  }

  override async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.dispatcher.subscriptions.clear();
    const client = this.#listener ?? (await this.#connecting?.catch(() => undefined));
    this.#listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
