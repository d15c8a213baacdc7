// Measures how long another instance can read stale cache entries after a partition (issue 14).
// Instance A reaches a private redis-server through a TCP proxy that is cut and healed; instance B
// is connected directly. During the cut A keeps writing ("PostgreSQL" is a Map here, bumped on every
// write) and its cache writes fail; B reads through the cache without pause. A read is stale when it
// returns a version older than the one the database had when the read began.
// Entry point: BENCH_TRIALS (default 5), BENCH_CUT_MS (default 2000). Both instances run
// createRedis' defaults (the umbrella's are the same).
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMachine, envInteger, printTable } from '@cairn/bench-kit';
import { startRedisServer } from '../src/testing.js';
import { createRedis, RedisCache, type RedisConnection } from '@cairn/redis';
import { startProxy } from '../test/proxy.js';

const trials = envInteger('BENCH_TRIALS', 5);
const cutMs = envInteger('BENCH_CUT_MS', 2000);
const keys = Array.from({ length: 20 }, (_, i) => `row${i}`);

interface Trial {
  staleDuringCut: number;
  readsDuringCut: number;
  staleAfterHeal: number;
  lastStaleAfterHealMs: number;
  readyAfterHealMs: number;
  servingAfterHealMs: number;
}

const server = await startRedisServer();
const proxy = await startProxy(server.port);

async function trial(n: number): Promise<Trial> {
  const keyPrefix = `stale-window:${n}:`;
  const a: RedisConnection = createRedis({ url: proxy.url, keyPrefix });
  const b: RedisConnection = createRedis({ url: server.url, keyPrefix });
  await Promise.all([a.ready(), b.ready()]);
  const cacheA = new RedisCache(a, { namespace: 'rows' });
  const cacheB = new RedisCache(b, { namespace: 'rows' });
  const db = new Map(keys.map((k) => [k, 0]));
  for (const k of keys) await cacheA.set(k, { v: 0 });

  let phase = 'before' as 'before' | 'cut' | 'healed';
  let healedAt = 0;
  let readyAt = 0;
  const result: Trial = { staleDuringCut: 0, readsDuringCut: 0, staleAfterHeal: 0, lastStaleAfterHealMs: 0, readyAfterHealMs: 0, servingAfterHealMs: 0 };
  a.client.on('ready', () => {
    if (phase === 'healed' && readyAt === 0) readyAt = performance.now();
  });

  let running = true;
  const reader = (async () => {
    for (let i = 0; running; i++) {
      const k = keys[i % keys.length]!;
      const expected = db.get(k)!;
      const startedIn = phase;
      const started = performance.now();
      const got = await cacheB.getOrLoad(k, async () => ({ v: db.get(k)! }));
      const stale = got.v < expected;
      if (startedIn === 'cut') {
        result.readsDuringCut += 1;
        if (stale) result.staleDuringCut += 1;
      } else if (startedIn === 'healed' && stale) {
        result.staleAfterHeal += 1;
        result.lastStaleAfterHealMs = started - healedAt;
      }
    }
  })();
  const writer = async (until: () => boolean) => {
    for (let i = 0; until(); i++) {
      const k = keys[i % keys.length]!;
      db.set(k, db.get(k)! + 1); // the PostgreSQL commit
      if (i % 4 === 3) await cacheA.del(k);
      else await cacheA.set(k, { v: db.get(k)! });
      await sleep(5);
    }
  };

  proxy.cut();
  phase = 'cut';
  const cutEnds = performance.now() + cutMs;
  await writer(() => performance.now() < cutEnds);
  proxy.restore();
  healedAt = performance.now();
  phase = 'healed';
  while (!a.serving) await sleep(1);
  const servingAt = performance.now();
  // Keep B reading a little longer: any stale read after A serves again would show.
  await sleep(300);
  running = false;
  await reader;
  result.readyAfterHealMs = readyAt === 0 ? NaN : readyAt - healedAt;
  result.servingAfterHealMs = servingAt - healedAt;
  cacheA.close();
  cacheB.close();
  await Promise.all([a.close(), b.close()]);
  return result;
}

const results: Trial[] = [];
for (let i = 0; i < trials; i++) results.push(await trial(i));
await proxy.close();
await server.stop();

const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(0));
console.log(`\nstale window: ${trials} trials, cut ${cutMs} ms, A writes every ~5 ms during the cut, B reads without pause; ${describeMachine()}\n`);
const columns = ['trial', 'B reads during cut', 'stale', 'stale reads after heal', 'last stale read after heal, ms', 'A ready after heal, ms', 'A serving after heal, ms'];
printTable(
  columns,
  results.map((r, i) => [String(i + 1), String(r.readsDuringCut), String(r.staleDuringCut), String(r.staleAfterHeal), r.staleAfterHeal ? f(r.lastStaleAfterHealMs) : '–', f(r.readyAfterHealMs), f(r.servingAfterHealMs)]),
  { align: columns.map(() => 'right' as const) },
);
