// Benchmark: Cairn (native API and CairnSaver) vs LangGraph's PostgresSaver vs raw `pg`, same
// PostgreSQL, same process, one client at a time, then 64 concurrent threads.
//
//   pnpm --filter @cairn/checkpointer bench
//   BENCH_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres BENCH_OPS=1000 BENCH_THREAD_SIZE=1000 pnpm ... bench
//
// A fresh database is created (Cairn migrations applied; PostgresSaver's tables in schema
// `langgraph`) and dropped at the end. The raw `pg` baseline writes hand-written single statements
// into the same `checkpoints` table (tenant 'raw'), so it pays for the same indexes.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import {
  adminUrlFromEnv,
  compareInterleaved,
  describeMachine,
  envInteger,
  envIntegerList,
  envString,
  printTable,
  scratchDatabase,
  summarize,
  type BenchCall,
  type Measurement,
  type SideMeasurement,
} from '@cairn/bench-kit';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { uuid6, type Checkpoint as LgCheckpoint } from '@langchain/langgraph-checkpoint';
import { createDb, type CairnDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { CairnSaver } from '../src/langgraph.js';

const THREAD_SIZE = envInteger('BENCH_THREAD_SIZE', 1000);
// 100 KiB states: PostgresSaver needs ~1 s per list(20) on a long thread; keep the default run short.
const LARGE_THREAD_SIZE = envInteger('BENCH_LARGE_THREAD_SIZE', 200);
const READ_OPS = envInteger('BENCH_OPS', 500);
const CONCURRENCY = envInteger('BENCH_CONCURRENCY', 64);
const CONCURRENT_PUTS = envInteger('BENCH_CONCURRENT_PUTS', 30);
const WARMUP = envInteger('BENCH_WARMUP', 3000);
const WARMUP_MS = envInteger('BENCH_WARMUP_MS', 3000);
const SIZES = envIntegerList('BENCH_SIZES', [1024, 102400]);
// `off` takes the disk's flush latency out of every commit, for all implementations alike (an
// ALTER DATABASE on the scratch database), to compare what the libraries themselves cost.
const SYNC_COMMIT = envString('BENCH_SYNC_COMMIT', 'on');
// PgBouncer in transaction pooling in front of the same server (scripts/setup-services.sh starts it
// on 6432); `off` skips the rows measured through it.
const PGBOUNCER_URL = envString('BENCH_PGBOUNCER_URL', 'postgresql://postgres@127.0.0.1:6432/postgres');

type Impl = 'cairn' | 'saver' | 'pgsaver' | 'raw';
const IMPLS: Impl[] = ['cairn', 'saver', 'pgsaver', 'raw'];
const LABEL: Record<Impl, string> = { cairn: 'Cairn API', saver: 'CairnSaver', pgsaver: 'PostgresSaver', raw: 'raw pg' };

const WORDS = 'agent tool call memory plan step observe retry state thread message user assistant system result value graph node edge'.split(' ');
function text(bytes: number, seed: number): string {
  let s = '';
  let x = seed + 1;
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += `${WORDS[x % WORDS.length]} `;
  }
  return s.slice(0, bytes);
}

/**
 * Runs each implementation's operation `ops` times, interleaved in rounds (a slice of each in
 * turn, the first rotating), so a change in machine load affects all of them alike.
 *
 * Warm-up: enough calls for the JIT to settle on each side (a library runs far more code per call
 * than a hand-written query; a 10-call warm-up charged its compilation to the first thousands of
 * measured calls). Up to WARMUP calls or WARMUP_MS per implementation, whichever comes first, so
 * slow baselines do not stretch the run, on negative indices (batches of their own). Writes warm
 * up on threads of their own (`warmupSides`), leaving the measured threads at their specified size.
 */
function compare<K extends Impl>(ops: number, sides: Record<K, BenchCall>, rounds = 10, warmupSides?: Partial<Record<K, BenchCall>>): Promise<Record<K, SideMeasurement>> {
  return compareInterleaved(sides, { ops, rounds, warmup: { calls: WARMUP, maxMs: WARMUP_MS, from: -WARMUP, ...(warmupSides ? { sides: warmupSides } : {}) } });
}

function lgCheckpoint(payload: string, version: number): LgCheckpoint {
  return {
    v: 4,
    id: uuid6(-1),
    ts: new Date().toISOString(),
    channel_values: { messages: payload, step: version },
    channel_versions: { messages: version, step: version },
    versions_seen: { agent: { messages: version - 1 } },
  };
}

async function main(): Promise<void> {
  const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench', settings: SYNC_COMMIT === 'off' ? { synchronous_commit: 'off' } : {} });
  let db: CairnDb | undefined;
  let pgsaver: PostgresSaver | undefined;
  const rawPool = new pg.Pool({ connectionString: scratch.url, max: 16 });
  // PostgresSaver on a pool this script owns and ends (same size as Cairn's).
  const pgsaverPool = new pg.Pool({ connectionString: scratch.url, max: 16 });
  // A client still checked out when the scratch database is force-dropped gets "terminating
  // connection due to administrator command" (57P01); expected at teardown, anything else is not.
  for (const pool of [rawPool, pgsaverPool]) {
    pool.on('error', (error: Error & { code?: string }) => {
      if (error.code !== '57P01') console.error('bench pool error:', error.message);
    });
  }
  try {
    db = await createDb({ url: scratch.url, migrate: true, pool: { max: 16 } });
    const cairn = new PostgresCheckpointer(db);
    const saver = new CairnSaver(new PostgresCheckpointer(db, { tenantId: 'saver' }));
    pgsaver = new PostgresSaver(pgsaverPool, undefined, { schema: 'langgraph' });
    await pgsaver.setup();

    const rows: { op: string; size: number; results: Partial<Record<Impl, Measurement>> }[] = [];
    const record = (op: string, size: number, results: Partial<Record<Impl, Measurement>>) => {
      rows.push({ op, size, results });
      process.stderr.write(`${op} ${size}: ${Object.entries(results).map(([k, r]) => `${k} ${Math.round(r.opsPerSec)}/s`).join(', ')}\n`);
    };

    for (const size of SIZES) {
      const large = size > 10_000;
      const threadSize = large ? LARGE_THREAD_SIZE : THREAD_SIZE;
      const readOps = large ? Math.round(READ_OPS / 5) : READ_OPS;
      const payloads = Array.from({ length: 16 }, (_, i) => text(size, i));
      const thread = `bench-${size}`;
      const meta = (i: number) => ({ source: 'loop' as const, step: i, parents: {} });
      /** The four puts, each appending to `threadId` and remembering its ids in `ids`. */
      const puts = (threadId: string, ids: Record<Impl, string[]>): Record<Impl, (i: number) => Promise<void>> => ({
        cairn: async (i) => {
          ids.cairn.push(await cairn.put(threadId, { messages: payloads[Math.abs(i) % 16], step: i }, { metadata: meta(i) }));
        },
        saver: async (i) => {
          const cp = lgCheckpoint(payloads[Math.abs(i) % 16]!, ids.saver.length + 2);
          const config = { configurable: { thread_id: threadId, checkpoint_ns: '', ...(ids.saver.length > 0 ? { checkpoint_id: ids.saver.at(-1) } : {}) } };
          await saver.put(config, cp, meta(i), { messages: ids.saver.length + 2, step: ids.saver.length + 2 });
          ids.saver.push(cp.id);
        },
        pgsaver: async (i) => {
          const cp = lgCheckpoint(payloads[Math.abs(i) % 16]!, ids.pgsaver.length + 2);
          const config = { configurable: { thread_id: threadId, checkpoint_ns: '', ...(ids.pgsaver.length > 0 ? { checkpoint_id: ids.pgsaver.at(-1) } : {}) } };
          await pgsaver!.put(config, cp, meta(i), { messages: ids.pgsaver.length + 2, step: ids.pgsaver.length + 2 });
          ids.pgsaver.push(cp.id);
        },
        raw: async (i) => {
          const id = uuid6(-1);
          await rawPool.query({
            name: 'raw_insert',
            text: `INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, state, metadata) VALUES ('raw', $1, '', $2, $3, $4, $5)`,
            values: [threadId, id, ids.raw.at(-1) ?? null, Buffer.from(JSON.stringify({ messages: payloads[Math.abs(i) % 16], step: i })), JSON.stringify(meta(i))],
          });
          ids.raw.push(id);
        },
      });
      const ids: Record<Impl, string[]> = { cairn: [], saver: [], pgsaver: [], raw: [] };
      const warmIds: Record<Impl, string[]> = { cairn: [], saver: [], pgsaver: [], raw: [] };

      // put: fills each thread with THREAD_SIZE checkpoints (the reads below run on them); the
      // warm-up writes to threads of its own.
      record('put', size, await compare(threadSize, puts(thread, ids), 10, puts(`warm-${size}`, warmIds)));

      const pick = (list: string[], i: number) => list[Math.floor(list.length / 2) + (Math.abs(i) % 100)]!;
      record('get latest', size, await compare(readOps, {
        cairn: () => cairn.get(thread),
        saver: () => saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } }),
        pgsaver: () => pgsaver!.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } }),
        raw: () =>
          rawPool.query<{ state: Buffer }>({ name: 'raw_latest', text: `SELECT * FROM checkpoints WHERE tenant_id = 'raw' AND thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`, values: [thread] }).then((r) => JSON.parse(r.rows[0]!.state.toString()) as unknown),
      }));
      record('get by id', size, await compare(readOps, {
        cairn: (i) => cairn.get(thread, pick(ids.cairn, i)),
        saver: (i) => saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: pick(ids.saver, i) } }),
        pgsaver: (i) => pgsaver!.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: pick(ids.pgsaver, i) } }),
        raw: (i) =>
          rawPool.query<{ state: Buffer }>({ name: 'raw_by_id', text: `SELECT * FROM checkpoints WHERE tenant_id = 'raw' AND thread_id = $1 AND checkpoint_ns = '' AND checkpoint_id = $2`, values: [thread, pick(ids.raw, i)] }).then((r) => JSON.parse(r.rows[0]!.state.toString()) as unknown),
      }));
      const listOps = large ? 10 : Math.round(READ_OPS / 2);
      const drain = async (it: AsyncIterable<unknown>) => {
        let n = 0;
        for await (const _ of it) n += 1;
        return n;
      };
      record('list(20)', size, await compare(listOps, {
        cairn: () => cairn.list(thread, { limit: 20 }),
        saver: () => drain(saver.list({ configurable: { thread_id: thread, checkpoint_ns: '' } }, { limit: 20 })),
        pgsaver: () => drain(pgsaver!.list({ configurable: { thread_id: thread, checkpoint_ns: '' } }, { limit: 20 })),
        raw: () =>
          rawPool
            .query<{ state: Buffer }>({ name: 'raw_list', text: `SELECT * FROM checkpoints WHERE tenant_id = 'raw' AND thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 20`, values: [thread] })
            .then((r) => r.rows.map((x) => JSON.parse(x.state.toString()) as unknown)),
      }));
      // putMany(100): one call for Cairn and raw pg (unnest); PostgresSaver has no batch API, so 100 puts.
      const batches = large ? 3 : 20;
      const manyThread = `many-${size}`;
      let pgPrev: string | undefined;
      record('putMany(100)', size, await compare(batches, {
        cairn: (b) => cairn.putMany(Array.from({ length: 100 }, (_, i) => ({ threadId: `${manyThread}-${b}`, state: { messages: payloads[i % 16], step: i } }))),
        pgsaver: async () => {
          for (let i = 0; i < 100; i += 1) {
            const cp = lgCheckpoint(payloads[i % 16]!, i + 2);
            await pgsaver!.put({ configurable: { thread_id: manyThread, checkpoint_ns: '', ...(pgPrev ? { checkpoint_id: pgPrev } : {}) } }, cp, meta(i), { messages: i + 2 });
            pgPrev = cp.id;
          }
        },
        raw: (b) =>
          rawPool.query({
            name: 'raw_many',
            text: `INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, state, metadata)
              SELECT 'raw', t.thread_id, '', t.checkpoint_id, t.state, t.metadata FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[]) AS t(thread_id, checkpoint_id, state, metadata)`,
            values: [
              Array.from({ length: 100 }, () => `${manyThread}-${b}`),
              Array.from({ length: 100 }, () => uuid6(-1)),
              Array.from({ length: 100 }, (_, i) => Buffer.from(JSON.stringify({ messages: payloads[i % 16], step: i }))),
              Array.from({ length: 100 }, (_, i) => JSON.stringify(meta(i))),
            ],
          }),
      }, batches));

      // 64 threads writing at once (each its own thread), checkpoints per second overall.
      const concurrent = async (impl: Impl): Promise<Measurement> => {
        const latencies: number[] = [];
        const started = performance.now();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async (_, t) => {
            const threadId = `conc-${impl}-${size}-${t}`;
            let prev: string | undefined;
            for (let i = 0; i < (large ? Math.ceil(CONCURRENT_PUTS / 3) : CONCURRENT_PUTS); i += 1) {
              const s = performance.now();
              if (impl === 'cairn') await cairn.put(threadId, { messages: payloads[i % 16], step: i });
              else {
                const cp = lgCheckpoint(payloads[i % 16]!, i + 2);
                const cfg = { configurable: { thread_id: threadId, checkpoint_ns: '', ...(prev ? { checkpoint_id: prev } : {}) } };
                await (impl === 'saver' ? saver : pgsaver!).put(cfg, cp, meta(i), { messages: i + 2, step: i + 2 });
                prev = cp.id;
              }
              latencies.push(performance.now() - s);
            }
          }),
        );
        return summarize(latencies, performance.now() - started);
      };
      record(`${CONCURRENCY} threads put`, size, { cairn: await concurrent('cairn'), saver: await concurrent('saver'), pgsaver: await concurrent('pgsaver') });
    }

    if (PGBOUNCER_URL !== 'off') await throughPgBouncer(scratch.name, record);

    // Report.
    const { rows: ver } = await rawPool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    console.log(`\nMachine: ${describeMachine()}, PostgreSQL ${ver[0]?.v} on loopback, synchronous_commit=${SYNC_COMMIT}`);
    console.log(
      `Threads of ${THREAD_SIZE} (1 KiB) / ${LARGE_THREAD_SIZE} (100 KiB) checkpoints per implementation; ${READ_OPS} / ${Math.round(READ_OPS / 5)} reads; pool max 16 connections each.\n`,
    );
    const fmt = (r: Measurement | undefined) => (r ? `${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(7)} /s  p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms` : '—');
    const ratio = (a: Measurement | undefined, b: Measurement | undefined) => (a && b ? `${(a.opsPerSec / b.opsPerSec).toFixed(2)}×` : '—');
    const header = ['operation', 'state', ...IMPLS.map((i) => LABEL[i]), 'Cairn / PgSaver', 'CairnSaver / PgSaver', 'Cairn / raw pg'];
    printTable(
      header,
      rows.map(({ op, size, results }) => [
        op,
        size >= 1024 ? `${size / 1024} KiB` : `${size} B`,
        ...IMPLS.map((i) => fmt(results[i])),
        ratio(results.cairn, results.pgsaver),
        ratio(results.saver, results.pgsaver),
        ratio(results.cairn, results.raw),
      ]),
      { align: header.map(() => 'left') },
    );
    await saver.checkpointer.close();
    await cairn.close();
  } finally {
    await pgsaverPool.end();
    await rawPool.end();
    await db?.close();
    await scratch.drop();
  }
}

/**
 * put and get latest (1 KiB) through PgBouncer in transaction pooling: Cairn (statements unnamed,
 * `pgbouncer: true`), PostgresSaver and raw pg, each on a pool of its own through the pooler.
 */
async function throughPgBouncer(database: string, record: (op: string, size: number, results: Partial<Record<Impl, Measurement>>) => void): Promise<void> {
  const url = new URL(PGBOUNCER_URL);
  url.pathname = `/${database}`;
  let db: CairnDb;
  try {
    db = await createDb({ url: url.toString(), pgbouncer: true, pool: { max: 16 } });
  } catch (error) {
    process.stderr.write(`PgBouncer rows skipped: ${(error as Error).message}\n`);
    return;
  }
  const rawPool = new pg.Pool({ connectionString: url.toString(), max: 16 });
  const pgsaverPool = new pg.Pool({ connectionString: url.toString(), max: 16 });
  for (const pool of [rawPool, pgsaverPool]) pool.on('error', () => undefined);
  const cairn = new PostgresCheckpointer(db, { tenantId: 'pgbouncer' });
  const pgsaver = new PostgresSaver(pgsaverPool, undefined, { schema: 'langgraph' });
  try {
    const payloads = Array.from({ length: 16 }, (_, i) => text(1024, i));
    const meta = (i: number) => ({ source: 'loop' as const, step: i, parents: {} });
    const thread = 'bouncer';
    // The last checkpoint id each implementation wrote per thread (the next put's parent).
    const prev = new Map<string, string>();
    const puts = (threadId: string): Record<'cairn' | 'pgsaver' | 'raw', BenchCall> => ({
      cairn: (i) => cairn.put(threadId, { messages: payloads[Math.abs(i) % 16], step: i }, { metadata: meta(i) }),
      pgsaver: async (i) => {
        const cp = lgCheckpoint(payloads[Math.abs(i) % 16]!, Math.abs(i) + 2);
        const last = prev.get(`pgsaver:${threadId}`);
        await pgsaver.put({ configurable: { thread_id: threadId, checkpoint_ns: '', ...(last ? { checkpoint_id: last } : {}) } }, cp, meta(i), { messages: Math.abs(i) + 2 });
        prev.set(`pgsaver:${threadId}`, cp.id);
      },
      raw: async (i) => {
        const id = uuid6(-1);
        await rawPool.query(
          `INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, state, metadata) VALUES ('raw-bouncer', $1, '', $2, $3, $4, $5)`,
          [threadId, id, prev.get(`raw:${threadId}`) ?? null, Buffer.from(JSON.stringify({ messages: payloads[Math.abs(i) % 16], step: i })), JSON.stringify(meta(i))],
        );
        prev.set(`raw:${threadId}`, id);
      },
    });
    record('put via PgBouncer', 1024, await compare(READ_OPS, puts(thread), 10, puts('bouncer-warm')));
    record('get latest via PgBouncer', 1024, await compare(READ_OPS, {
      cairn: () => cairn.get(thread),
      pgsaver: () => pgsaver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } }),
      raw: () =>
        rawPool.query(
          `SELECT checkpoint_id, state, metadata FROM checkpoints WHERE tenant_id = 'raw-bouncer' AND thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`,
          [thread],
        ),
    }));
  } finally {
    await cairn.close();
    await pgsaverPool.end();
    await rawPool.end();
    await db.close();
  }
}

await main();
