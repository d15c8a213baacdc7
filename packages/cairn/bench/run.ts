// Benchmark of the umbrella: what createCairn()'s wiring costs, and what the Redis layer it wires
// buys on the hot reads of an agent app, side by side with baselines measured in the same process.
//
//   pnpm --filter @cairn/cairn bench
//   BENCH_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_OPS=2000 pnpm --filter @cairn/cairn bench
//
// A scratch database is created (migrated by createDb) and dropped at the end; Redis keys live
// under a prefix of their own and are left to expire.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import { adminUrlFromEnv, compareInterleaved, describeMachine, envInteger, median, printTable, redisUrlFromEnv, scratchDatabase, type SideMeasurement } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';
import { createCairn, type Cairn } from '../src/index.js';

const REDIS_URL = redisUrlFromEnv();
const OPS = envInteger('BENCH_OPS', 1000);
const STARTS = envInteger('BENCH_STARTS', 5);
const THREAD_SIZE = 100;

/** Each side `ops` times in 10 interleaved rounds, after 50 warm-up calls each. */
function compare<K extends string>(ops: number, sides: Record<K, (i: number) => Promise<unknown>>): Promise<Record<K, SideMeasurement>> {
  return compareInterleaved(sides, { ops, rounds: 10, warmup: { calls: Math.min(50, ops) } });
}

function resultTable(title: string, results: Record<string, SideMeasurement>, baseline: string): void {
  console.log(`\n${title}\n`);
  printTable(
    ['', 'ops/s', 'p50 ms', 'p99 ms', `vs ${baseline}`],
    Object.entries(results).map(([name, r]) => [name, r.opsPerSec.toFixed(0), r.p50.toFixed(3), r.p99.toFixed(3), `${(r.opsPerSec / results[baseline]!.opsPerSec).toFixed(2)}×`]),
    { pad: true },
  );
}

/** The median of `n` runs of `fn`, each returning the milliseconds it measured. */
async function medianOf(n: number, fn: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(await fn());
  return median(values);
}

async function main(): Promise<void> {
  const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench' });
  const dbUrl = scratch.url;
  console.log(`cairn bench: ${describeMachine()}, ops ${OPS}`);

  let plain: Cairn | undefined;
  let cached: Cairn | undefined;
  const raw = new pg.Pool({ connectionString: dbUrl, max: 2 });
  // The scratch database is dropped WITH (FORCE) at the end; an idle client may hear about it.
  raw.on('error', () => undefined);
  try {
    // Migrate once, so the start-up figures below measure connecting and wiring, not migrations.
    await (await createDb({ url: dbUrl, migrate: true })).close();

    // ---- start-up -------------------------------------------------------------------------------
    const dbStart = await medianOf(STARTS, async () => {
      const t = performance.now();
      const db = await createDb({ url: dbUrl });
      const ms = performance.now() - t;
      await db.close();
      return ms;
    });
    const cairnStart = await medianOf(STARTS, async () => {
      const t = performance.now();
      const c = await createCairn({ databaseUrl: dbUrl });
      const ms = performance.now() - t;
      await c.close();
      return ms;
    });
    const cairnRedisStart = await medianOf(STARTS, async () => {
      const t = performance.now();
      const c = await createCairn({ databaseUrl: dbUrl, redisUrl: REDIS_URL, redis: { keyPrefix: `bench-${process.pid}:` } });
      const ms = performance.now() - t;
      await c.close();
      return ms;
    });
    console.log(`\nStart-up (median of ${STARTS}, ready to serve)\n`);
    const starts: [string, number][] = [
      ['createDb (baseline)', dbStart],
      ['createCairn, PostgreSQL only', cairnStart],
      ['createCairn, PostgreSQL + Redis', cairnRedisStart],
    ];
    printTable(['', 'ms', 'vs createDb'], starts.map(([label, ms]) => [label, ms.toFixed(1), `${(ms / dbStart).toFixed(2)}×`]), { pad: true });

    // ---- hot reads ------------------------------------------------------------------------------
    plain = await createCairn({ databaseUrl: dbUrl, db: { pool: { max: 4 } } });
    cached = await createCairn({ databaseUrl: dbUrl, redisUrl: REDIS_URL, redis: { keyPrefix: `bench-${process.pid}:` }, db: { pool: { max: 4 } } });
    const state = { messages: Array.from({ length: 8 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x'.repeat(100) })) };
    for (let i = 0; i < THREAD_SIZE; i++) await plain.checkpointer.put('bench-thread', { ...state, step: i });
    const Profile = z.object({ name: z.string(), visits: z.number(), tags: z.array(z.string()) });
    await plain.objects.collection('Profile', Profile).save('p1', { name: 'Ada', visits: 3, tags: ['a', 'b', 'c'] });
    const plainProfiles = plain.objects.collection('Profile', Profile);
    const cachedProfiles = cached.objects.collection('Profile', Profile);

    resultTable(
      `Latest checkpoint of a ${THREAD_SIZE}-checkpoint thread (~1 KiB state), decoded`,
      await compare(OPS, {
        'raw pg SELECT (baseline)': () =>
          raw.query(`SELECT state FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`, ['default', 'bench-thread']),
        'cairn.checkpointer.get': () => plain!.checkpointer.get('bench-thread'),
        'cairn.checkpointer.get + Redis': () => cached!.checkpointer.get('bench-thread'),
      }),
      'raw pg SELECT (baseline)',
    );
    resultTable(
      'Object load by id, validated by its zod schema',
      await compare(OPS, {
        'raw pg SELECT (baseline)': () => raw.query(`SELECT data, version FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3`, ['default', 'Profile', 'p1']),
        'cairn.objects load': () => plainProfiles.load('p1'),
        'cairn.objects load + Redis': () => cachedProfiles.load('p1'),
      }),
      'raw pg SELECT (baseline)',
    );
    resultTable(
      'Health check',
      await compare(Math.min(OPS, 500), {
        'db.healthCheck (baseline)': () => plain!.db.healthCheck(),
        'cairn.health, PostgreSQL only': () => plain!.health(),
        'cairn.health, + Redis PING': () => cached!.health(),
      }),
      'db.healthCheck (baseline)',
    );
  } finally {
    await plain?.close();
    await cached?.close();
    await raw.end();
    await scratch.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
