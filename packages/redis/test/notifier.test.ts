import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '@cairn/core';
import { createDb, type CairnDb } from '@cairn/db';
import { createTestDatabase, createTestDb, type TestDatabase } from '@cairn/db/testing';
import { Cluster, type Redis } from 'ioredis';
import { testRedisIsCluster, testRedisUrl, uniqueKeyPrefix } from '../src/testing.js';
import {
  createRedis,
  PostgresNotifier,
  RedisNotifier,
  type CairnEvent,
  type ChangeNotifier,
  type RedisConnection,
  type TenantNotifier,
} from '@cairn/redis';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(PACKAGE_DIR, 'node_modules', '.bin', 'tsx');

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const saved = (threadId: string, checkpointId = '1'): CairnEvent => ({ type: 'checkpoint.saved', tenantId: 'default', threadId, namespace: '', checkpointId });
const updated = (tenantId: string, id: string): CairnEvent => ({ type: 'object.updated', tenantId, objectType: 'Note', id, version: 1 });

interface Transport {
  /** Two notifiers on separate connections, as two app instances would have. */
  pair(): Promise<[ChangeNotifier, ChangeNotifier]>;
  /** argv for the child publisher. */
  childTransport(): string;
  /** Sends a raw, malformed message on the wire. */
  sendGarbage(channel: string): Promise<void>;
  /** Kills the server side of the listening connection(s); returns how many were killed. */
  killListeners(): Promise<number>;
  /** Whether subscribeAllTenants is served (sharded Redis pub/sub has no patterns to serve it with). */
  crossTenant: boolean;
  teardown(): Promise<void>;
}

function describeNotifier(name: string, setup: () => Promise<Transport>) {
  describe(`${name}`, () => {
    let transport: Transport;
    let a: ChangeNotifier;
    let b: ChangeNotifier;
    /** Tenant `default`'s feed on `b`, where most tests listen. */
    let feed: TenantNotifier;
    beforeAll(async () => {
      transport = await setup();
      [a, b] = await transport.pair();
      feed = b.forTenant('default');
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await transport.teardown();
    });

    it('delivers typed events across two connections, by pattern', async () => {
      const received: [string, CairnEvent][] = [];
      const unsubscribe = await feed.subscribe('threads:*', (channel, event) => void received.push([channel, event]));
      await a.publish('threads:t1', saved('t1'));
      await a.publish('objects:o1', { type: 'object.deleted', tenantId: 'default', objectType: 'Note', id: 'o1' });
      await a.forTenant('default').publish('threads:t2', { type: 'session.expired', tenantId: 'default', sessionId: 's9' });
      await until(() => received.length === 2);
      await sleep(50);
      expect(received).toEqual([
        ['threads:t1', saved('t1')],
        ['threads:t2', { type: 'session.expired', tenantId: 'default', sessionId: 's9' }],
      ]);
      await unsubscribe();
      await a.publish('threads:t3', saved('t3'));
      await sleep(100);
      expect(received).toHaveLength(2);
    });

    it("gives a tenant's subscriber none of another tenant's events, even on the widest pattern", async () => {
      const ofAcme: [string, CairnEvent][] = [];
      const ofAll: [string, CairnEvent][] = [];
      const stopAcme = await b.forTenant('acme').subscribe('*', (channel, event) => void ofAcme.push([channel, event]));
      const stopAll = transport.crossTenant ? await b.subscribeAllTenants('*', (channel, event) => void ofAll.push([channel, event])) : async () => undefined;
      const expectedOfAll = transport.crossTenant ? 7 : 0;
      try {
        // `acme.eu` and `acme-b` start like `acme`: a tenant's channels must not be a prefix of another's.
        for (const tenant of ['acme.eu', 'acme-b', 'beta']) {
          await a.forTenant(tenant).publish('cairn:objects', updated(tenant, 'theirs'));
          await a.publish(`cairn:${tenant}`, updated(tenant, 'theirs too'));
        }
        await a.forTenant('acme').publish('cairn:objects', updated('acme', 'mine'));
        // One publisher's events arrive in order: once acme's is here, the others' have come and gone.
        await until(() => ofAcme.length === 1 && ofAll.length === expectedOfAll);
        await sleep(50);
        expect(ofAcme).toEqual([['cairn:objects', updated('acme', 'mine')]]);
        // The explicitly cross-tenant subscription still hears every tenant.
        if (transport.crossTenant) expect(new Set(ofAll.map(([, e]) => e.tenantId))).toEqual(new Set(['acme.eu', 'acme-b', 'beta', 'acme']));
      } finally {
        await stopAcme();
        await stopAll();
      }
    });

    it("refuses to publish another tenant's event through a tenant's notifier, and sends nothing", async () => {
      const ofBeta: CairnEvent[] = [];
      const stop = await b.forTenant('beta').subscribe('*', (_c, e) => void ofBeta.push(e));
      try {
        const error = await a
          .forTenant('acme')
          .publish('cairn:objects', updated('beta', 'forged'))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues).toEqual([{ path: 'tenantId', message: expect.stringMatching(/must be "acme", the tenant of this notifier \(is "beta"\)/) }]);
        await a.forTenant('beta').publish('cairn:objects', updated('beta', 'genuine'));
        await until(() => ofBeta.length === 1);
        await sleep(50);
        expect(ofBeta).toEqual([updated('beta', 'genuine')]);
      } finally {
        await stop();
      }
      expect(() => a.forTenant('acme corp')).toThrow(ValidationError);
      expect(() => a.forTenant('acme\uD800')).toThrow(ValidationError);
      expect(a.forTenant('acme').tenantId).toBe('acme');
    });

    it('calls each subscription once per event when their patterns overlap', async () => {
      const calls = { narrow: 0, wide: 0, all: 0 };
      const stops = [await feed.subscribe('overlap:*', () => void (calls.narrow += 1)), await feed.subscribe('*', () => void (calls.wide += 1))];
      if (transport.crossTenant) stops.push(await b.subscribeAllTenants('overlap:*', () => void (calls.all += 1)));
      const all = transport.crossTenant ? 1 : 0;
      try {
        await a.publish('overlap:1', saved('o'));
        await until(() => calls.narrow + calls.wide + calls.all >= 2 + all);
        await sleep(100);
        expect(calls).toEqual({ narrow: 1, wide: 1, all });
      } finally {
        for (const stop of stops) await stop();
      }
    });

    it('keeps publish order for one publisher', async () => {
      const ids: string[] = [];
      const unsubscribe = await feed.subscribe('order', (_c, e) => void (e.type === 'checkpoint.saved' && ids.push(e.checkpointId)));
      for (let i = 0; i < 50; i++) await a.publish('order', saved('t', String(i)));
      await until(() => ids.length === 50);
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
      await unsubscribe();
    });

    it('delivers events published by another process', async () => {
      const from = new Set<string>();
      let count = 0;
      const unsubscribe = await feed.subscribe('cross', (_c, e) => {
        if (e.type === 'checkpoint.saved') from.add(e.threadId);
        count += 1;
      });
      await new Promise<void>((resolve, reject) =>
        execFile(TSX, ['--conditions=@cairn/source', path.join(PACKAGE_DIR, 'test', 'fixtures', 'publish.ts'), transport.childTransport(), 'cross', '5'], { cwd: PACKAGE_DIR, timeout: 60_000 }, (err, _o, stderr) =>
          err ? reject(new Error(stderr || err.message)) : resolve(),
        ),
      );
      await until(() => count === 5);
      expect([...from][0]).toMatch(/^from-child-\d+$/);
      await unsubscribe();
    });

    it('drops malformed messages instead of handing them to handlers', async () => {
      const received: CairnEvent[] = [];
      const unsubscribe = await feed.subscribe('dirty', (_c, e) => void received.push(e));
      const before = b.stats().malformed;
      await transport.sendGarbage('dirty');
      await a.publish('dirty', saved('clean'));
      await until(() => received.length === 1);
      expect(received[0]).toEqual(saved('clean'));
      expect(b.stats().malformed).toBe(before + 1);
      await unsubscribe();
    });

    it('rejects invalid channels, patterns and events', async () => {
      await expect(a.publish('bad channel', saved('t'))).rejects.toBeInstanceOf(ValidationError);
      await expect(a.publish('ok', { type: 'nope' } as unknown as CairnEvent)).rejects.toBeInstanceOf(ValidationError);
      await expect(feed.subscribe("x'; DROP", () => undefined)).rejects.toBeInstanceOf(ValidationError);
      await expect(b.subscribeAllTenants('a b', () => undefined)).rejects.toBeInstanceOf(ValidationError);
      await expect(a.forTenant('default').publish('bad channel', saved('t'))).rejects.toBeInstanceOf(ValidationError);
      if (!transport.crossTenant) await expect(b.subscribeAllTenants('*', () => undefined)).rejects.toMatchObject({ code: 'NOTIFICATION_UNSUPPORTED' });
    });

    it('resumes delivery after its listening connection is killed', async () => {
      const received: CairnEvent[] = [];
      const unsubscribe = await feed.subscribe('resume', (_c, e) => void received.push(e));
      await a.publish('resume', saved('before'));
      await until(() => received.length === 1);
      expect(await transport.killListeners()).toBeGreaterThanOrEqual(1);
      // Delivery is at most once: events sent while it reconnects are lost, so keep sending.
      const deadline = Date.now() + 15_000;
      for (let i = 0; received.length < 2; i++) {
        if (Date.now() > deadline) throw new Error('no delivery after the connection was killed');
        await a.publish('resume', saved('after', String(i)));
        await sleep(50);
      }
      expect(received[1]).toMatchObject({ type: 'checkpoint.saved', threadId: 'after' });
      await unsubscribe();
    });

    it('keeps delivering when a handler throws', async () => {
      let good = 0;
      const u1 = await feed.subscribe('throws', () => {
        throw new Error('handler bug');
      });
      const u2 = await feed.subscribe('throws', () => void (good += 1));
      await a.publish('throws', saved('t'));
      await until(() => good === 1);
      expect(b.stats().handlerErrors).toBeGreaterThanOrEqual(1);
      await u1();
      await u2();
    });
  });
}

/** Every node of a connection's deployment (each cluster node, or the one server). */
function serversOf(redis: RedisConnection): (Redis | RedisConnection['client'])[] {
  return redis.client instanceof Cluster ? redis.client.nodes('all') : [redis.client];
}

/**
 * RedisNotifier over classic pub/sub, and over sharded pub/sub when the tests run against a
 * Redis Cluster (REDIS_URL naming one), where sharded is the default.
 */
function describeRedisNotifier(sharded: boolean) {
  describeNotifier(sharded ? 'RedisNotifier (sharded pub/sub)' : 'RedisNotifier', async () => {
    const keyPrefix = uniqueKeyPrefix('notify');
    const connections: RedisConnection[] = [];
    const connectionName = `${keyPrefix.replace(/[^A-Za-z0-9]/g, '')}-${process.pid}`;
    const connect = async () => {
      const redis = createRedis({ url: testRedisUrl(), keyPrefix, connectionName: `${connectionName}-${connections.length}` });
      await redis.ready();
      connections.push(redis);
      return redis;
    };
    return {
      crossTenant: !sharded,
      pair: async () => [new RedisNotifier(await connect(), { sharded }), new RedisNotifier(await connect(), { sharded })],
      childTransport: () => `redis|${testRedisUrl()}|${keyPrefix}|${sharded ? 'sharded' : 'classic'}`,
      sendGarbage: async (channel) => {
        if (sharded) await connections[0]!.client.spublish(`${keyPrefix}{t/default}`, `{"c":"${channel}","e":{"type":"checkpoint.saved"}}`);
        else await connections[0]!.client.publish(`${keyPrefix}t/default/${channel}`, '{"type":"checkpoint.saved"');
      },
      killListeners: async () => {
        // Only this file's subscriber connections (named after its key prefix): the Redis is shared.
        let killed = 0;
        for (const server of serversOf(connections[0]!)) {
          const list = (await server.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
          const ids = list
            .split('\n')
            // A cluster's subscriber connections are named `ioredis-cluster(subscriber):<name>`.
            .filter((line) => new RegExp(`\\sname=(\\S*:)?${connectionName}-`).test(line))
            .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
            .filter((id): id is string => id !== undefined);
          for (const id of ids) await server.call('CLIENT', 'KILL', 'ID', id);
          killed += ids.length;
        }
        return killed;
      },
      teardown: async () => {
        await Promise.all(connections.map((c) => c.close()));
      },
    };
  });
}

describeRedisNotifier(false);
if (testRedisIsCluster()) describeRedisNotifier(true);

/** How one pub/sub mode lays a tenant's events out on the wire, for checkWire. */
interface Wire {
  sharded: boolean;
  /** Makes `raw` receive, into `seen`, what Redis sends a subscriber of tenant acme's channel(s). */
  watchAcme(raw: RedisConnection['client'], keyPrefix: string, seen: string[]): Promise<void>;
  /** The channel acme's `cairn:objects` event travels on. */
  acmeChannel(keyPrefix: string): string;
  /** Sends `event` raw on acme's channel, as no notifier would. */
  forge(redis: RedisConnection, keyPrefix: string, event: CairnEvent): Promise<unknown>;
  /** A subscription that hears acme's events. */
  listen(notifier: RedisNotifier, handler: (e: CairnEvent) => void): Promise<() => Promise<void>>;
}

/** Redis itself keeps tenants apart on the wire, and a forged message naming another tenant is dropped. */
async function checkWire(label: string, wire: Wire): Promise<void> {
  const keyPrefix = uniqueKeyPrefix(label);
  const redis = createRedis({ url: testRedisUrl(), keyPrefix });
  await redis.ready();
  const raw = redis.duplicate();
  const notifier = new RedisNotifier(redis, { sharded: wire.sharded });
  const seen: string[] = [];
  try {
    await wire.watchAcme(raw, keyPrefix, seen);
    await notifier.publish('cairn:objects', updated('acme.eu', 'x'));
    await notifier.forTenant('acme').publish('cairn:objects', updated('acme', 'y'));
    await until(() => seen.length === 1);
    await sleep(50);
    expect(seen).toEqual([wire.acmeChannel(keyPrefix)]);

    // A message on acme's channel naming another tenant was not sent by a notifier: dropped and counted.
    const received: CairnEvent[] = [];
    const stop = await wire.listen(notifier, (e) => void received.push(e));
    const before = notifier.stats().malformed;
    await wire.forge(redis, keyPrefix, updated('beta', 'forged'));
    await notifier.forTenant('acme').publish('cairn:objects', updated('acme', 'z'));
    await until(() => received.length === 1);
    expect(received).toEqual([updated('acme', 'z')]);
    expect(notifier.stats().malformed).toBe(before + 1);
    await stop();
  } finally {
    await raw.quit();
    await notifier.close();
    await redis.close();
  }
}

describe('RedisNotifier channels', () => {
  it("keep each tenant's events on channels of its own, which no other tenant's pattern matches", async () => {
    await checkWire('notify-wire', {
      sharded: false,
      watchAcme: async (raw, keyPrefix, seen) => {
        raw.on('pmessage', (_pattern: string, channel: string) => void seen.push(channel));
        await raw.psubscribe(`${keyPrefix}t/acme/*`);
      },
      acmeChannel: (keyPrefix) => `${keyPrefix}t/acme/cairn:objects`,
      forge: (redis, keyPrefix, event) => redis.client.publish(`${keyPrefix}t/acme/cairn:objects`, JSON.stringify(event)),
      listen: (notifier, handler) => notifier.subscribeAllTenants('*', (_c, e) => handler(e)),
    });
  });
});

(testRedisIsCluster() ? describe : describe.skip)('RedisNotifier shard channels (Redis Cluster)', () => {
  it("put each tenant's events on one shard channel of its own, and drop a message naming another tenant", async () => {
    await checkWire('notify-shard', {
      sharded: true,
      watchAcme: async (raw, keyPrefix, seen) => {
        raw.on('smessage', (channel: string) => void seen.push(channel));
        await raw.ssubscribe(`${keyPrefix}{t/acme}`);
      },
      acmeChannel: (keyPrefix) => `${keyPrefix}{t/acme}`,
      forge: (redis, keyPrefix, event) => redis.client.spublish(`${keyPrefix}{t/acme}`, JSON.stringify({ c: 'cairn:objects', e: event })),
      listen: (notifier, handler) => notifier.forTenant('acme').subscribe('*', (_c, e) => handler(e)),
    });
  });
});

describeNotifier('PostgresNotifier (LISTEN/NOTIFY)', async () => {
  const database: TestDatabase = await createTestDatabase();
  const dbs: CairnDb[] = [await createDb({ url: database.url, pool: { max: 2 } }), await createDb({ url: database.url, pool: { max: 2 } })];
  return {
    crossTenant: true,
    pair: async () => [new PostgresNotifier(dbs[0]!), new PostgresNotifier(dbs[1]!)],
    childTransport: () => `postgres|${database.url}`,
    sendGarbage: async (channel) => {
      await dbs[0]!.pool.query(`SELECT pg_notify('cairn_events', $1)`, [JSON.stringify({ c: channel, e: { type: 'object.updated' } })]);
    },
    killListeners: async () => {
      const { rowCount } = await dbs[0]!.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
      );
      return rowCount ?? 0;
    },
    teardown: async () => {
      await Promise.all(dbs.map((d) => d.close()));
      await database.drop();
    },
  };
});

describe('PostgresNotifier limits', () => {
  let db: CairnDb;
  beforeAll(async () => {
    db = await createTestDb({ pool: { max: 2 } });
  });
  afterAll(async () => {
    await db.close();
  });

  it('carries the widest valid event, and refuses larger ids before sending anything', async () => {
    // The id rule bounds every event: three 512-byte ids of characters JSON escapes (quotes,
    // backslashes) and a 128-byte tenant id still fit a NOTIFY payload, so NOTIFICATION_TOO_LARGE
    // is only a guard.
    const notifier = new PostgresNotifier(db);
    const received: CairnEvent[] = [];
    const unsubscribe = await notifier.subscribeAllTenants('big', (_c, e) => void received.push(e));
    try {
      const widest: CairnEvent = { type: 'checkpoint.saved', tenantId: 't'.repeat(128), threadId: '"'.repeat(512), namespace: '\\'.repeat(512), checkpointId: '"'.repeat(512) };
      expect(Buffer.byteLength(JSON.stringify(widest))).toBeGreaterThan(3_000);
      await notifier.publish('big', widest);
      const err = await notifier.publish('big', saved('x'.repeat(4000), 'y'.repeat(4000))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      await notifier.publish('big', saved('small'));
      await until(() => received.length === 2);
      expect(received).toEqual([widest, saved('small')]);
    } finally {
      await unsubscribe();
      await notifier.close();
    }
  });

  it('delivers nothing from a rolled-back transaction', async () => {
    const notifier = new PostgresNotifier(db);
    const received: CairnEvent[] = [];
    const unsubscribe = await notifier.forTenant('default').subscribe('tx', (_c, e) => void received.push(e));
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_notify('cairn_events', $1)`, [JSON.stringify({ c: 'tx', e: saved('rolled-back') })]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    await notifier.publish('tx', saved('committed'));
    await until(() => received.length === 1);
    await sleep(50);
    expect(received).toEqual([saved('committed')]);
    await unsubscribe();
    await notifier.close();
  });
});
