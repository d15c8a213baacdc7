// Benchmark of the umbrella: what createCairn()'s wiring costs, and what the Redis layer it wires
// buys on the hot reads of an agent app, side by side with baselines measured in the same process.
//
//   pnpm --filter cairn bench
//   BENCH_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_OPS=2000 pnpm --filter cairn bench
//
// A scratch database is created (migrated by createDb) and dropped at the end; Redis keys live
// under a prefix of their own and are left to expire.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import { createDb } from '@cairn/db';
import { createCairn, type Cairn } from '../src/index.js';

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const OPS = Number(process.env.BENCH_OPS ?? 1000);
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const THREAD_SIZE = 100;

interface Result {
  opsPerSec: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs each function `ops` times, interleaved in rounds so load changes hit all alike. */
async function compare(ops: number, fns: Record<string, (i: number) => Promise<unknown>>, rounds = 10): Promise<Record<string, Result>> {
  const names = Object.keys(fns);
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const name of names) for (let i = 0; i < Math.min(50, ops); i++) await fns[name]!(i); // warm-up
  const perRound = Math.ceil(ops / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const list = times.get(name)!;
      for (let i = 0; i < perRound; i++) {
        const started = performance.now();
        await fns[name]!(r * perRound + i);
        list.push(performance.now() - started);
      }
    }
  }
  const out: Record<string, Result> = {};
  for (const name of names) {
    const list = times.get(name)!.sort((a, b) => a - b);
    const total = list.reduce((a, b) => a + b, 0);
    out[name] = { opsPerSec: (list.length / total) * 1000, p50: percentile(list, 50), p99: percentile(list, 99) };
  }
  return out;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

function printTable(title: string, results: Record<string, Result>, baseline: string): void {
  const widths = [34, 10, 9, 9, 10];
  console.log(`\n${title}`);
  console.log(row(['', 'ops/s', 'p50 ms', 'p99 ms', `vs ${baseline}`], widths));
  for (const [name, r] of Object.entries(results)) {
    const ratio = r.opsPerSec / results[baseline]!.opsPerSec;
    console.log(row([name, r.opsPerSec.toFixed(0), r.p50.toFixed(3), r.p99.toFixed(3), `${ratio.toFixed(2)}×`], widths));
  }
}

async function median(n: number, fn: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(await fn());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

async function main(): Promise<void> {
  const name = `cairn_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  console.log(`cairn bench: ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, Node ${process.version}, ops ${OPS}`);

  let plain: Cairn | undefined;
  let cached: Cairn | undefined;
  const raw = new pg.Pool({ connectionString: dbUrl, max: 2 });
  // The scratch database is dropped WITH (FORCE) at the end; an idle client may hear about it.
  raw.on('error', () => undefined);
  try {
    // Migrate once, so the start-up figures below measure connecting and wiring, not migrations.
    await (await createDb({ url: dbUrl, migrate: true })).close();

    // ---- start-up -------------------------------------------------------------------------------
    const dbStart = await median(STARTS, async () => {
      const t = performance.now();
      const db = await createDb({ url: dbUrl });
      const ms = performance.now() - t;
      await db.close();
      return ms;
    });
    const cairnStart = await median(STARTS, async () => {
      const t = performance.now();
      const c = await createCairn({ databaseUrl: dbUrl });
      const ms = performance.now() - t;
      await c.close();
      return ms;
    });
    const cairnRedisStart = await median(STARTS, async () => {
      const t = performance.now();
      const c = await createCairn({ databaseUrl: dbUrl, redisUrl: REDIS_URL, redis: { keyPrefix: `bench-${process.pid}:` } });
      const ms = performance.now() - t;
      await c.close();
      return ms;
    });
    console.log('\nStart-up (median of %d, ready to serve)', STARTS);
    console.log(row(['', 'ms', 'vs createDb'], [34, 9, 12]));
    for (const [label, ms] of [
      ['createDb (baseline)', dbStart],
      ['createCairn, PostgreSQL only', cairnStart],
      ['createCairn, PostgreSQL + Redis', cairnRedisStart],
    ] as const) {
      console.log(row([label, ms.toFixed(1), `${(ms / dbStart).toFixed(2)}×`], [34, 9, 12]));
    }

    // ---- hot reads ------------------------------------------------------------------------------
    plain = await createCairn({ databaseUrl: dbUrl, db: { pool: { max: 4 } } });
    cached = await createCairn({ databaseUrl: dbUrl, redisUrl: REDIS_URL, redis: { keyPrefix: `bench-${process.pid}:` }, db: { pool: { max: 4 } } });
    const state = { messages: Array.from({ length: 8 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x'.repeat(100) })) };
    for (let i = 0; i < THREAD_SIZE; i++) await plain.checkpointer.put('bench-thread', { ...state, step: i });
    const Profile = z.object({ name: z.string(), visits: z.number(), tags: z.array(z.string()) });
    await plain.objects.collection('Profile', Profile).save('p1', { name: 'Ada', visits: 3, tags: ['a', 'b', 'c'] });
    const plainProfiles = plain.objects.collection('Profile', Profile);
    const cachedProfiles = cached.objects.collection('Profile', Profile);

    printTable(
      `Latest checkpoint of a ${THREAD_SIZE}-checkpoint thread (~1 KiB state), decoded`,
      await compare(OPS, {
        'raw pg SELECT (baseline)': () =>
          raw.query(`SELECT state FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`, ['default', 'bench-thread']),
        'cairn.checkpointer.get': () => plain!.checkpointer.get('bench-thread'),
        'cairn.checkpointer.get + Redis': () => cached!.checkpointer.get('bench-thread'),
      }),
      'raw pg SELECT (baseline)',
    );
    printTable(
      'Object load by id, validated by its zod schema',
      await compare(OPS, {
        'raw pg SELECT (baseline)': () => raw.query(`SELECT data, version FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3`, ['default', 'Profile', 'p1']),
        'cairn.objects load': () => plainProfiles.load('p1'),
        'cairn.objects load + Redis': () => cachedProfiles.load('p1'),
      }),
      'raw pg SELECT (baseline)',
    );
    printTable(
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
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
