// Benchmark: @cairn/objects against raw node-postgres running the same SQL on the same pool, in
// the same process, interleaved in rounds (alternating which side goes first) so that drift
// (autovacuum, CPU frequency, neighbours) hits both sides alike. Entry point: reads
// BENCH_ADMIN_URL (where the scratch database is created), BENCH_N (ops per side, default 4000),
// BENCH_ROUNDS (default 8), BENCH_REDIS_URL / REDIS_URL.
import jsonPatch from 'fast-json-patch';
import { z } from 'zod';
import { adminUrlFromEnv, compareInterleaved, describeMachine, envInteger, printTable, redisUrlFromEnv, scratchDatabase, type SideMeasurement } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';
import { createRedis } from '@cairn/redis';
import { createObjectStore, type WriteBehindError } from '../src/index.js';
import { LOAD_SQL, writeStatement } from '../src/sql.js';

const n = envInteger('BENCH_N', 4000);
const rounds = envInteger('BENCH_ROUNDS', 8);
const redisUrl = redisUrlFromEnv();

/** Both sides in interleaved rounds of sequential operations, after 200 warm-up calls each on ids of their own. */
async function compare(ours: (i: number) => Promise<unknown>, raw: (i: number) => Promise<unknown>): Promise<[SideMeasurement, SideMeasurement]> {
  const r = await compareInterleaved({ ours, raw }, { ops: n, rounds, warmup: { calls: 200, from: 1_000_000 } });
  return [r.ours, r.raw];
}

const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench_objects' });
const db = await createDb({ url: scratch.url, migrate: true, pool: { max: 4 } });
try {
  const Doc = z.object({
    title: z.string(),
    count: z.number().int(),
    tags: z.array(z.string()),
    body: z.string(),
    author: z.object({ name: z.string(), email: z.string() }),
  });
  type Doc = z.infer<typeof Doc>;
  const doc = (i: number): Doc => ({ title: `doc ${i}`, count: i, tags: ['a', 'b', 'c'], body: 'x'.repeat(900), author: { name: 'Ada', email: 'ada@example.com' } });
  const store = createObjectStore(db);
  const docs = store.collection('Doc', Doc);
  const pool = db.pool;
  const key = (side: string, i: number) => [`default`, 'Doc', `${side}-${i}`] as const;

  // Raw pg: the same statements (text and parameters) the collection sends, under names of its own.
  const rawSave = (i: number) => {
    const [tenantId, type, id] = key('raw', i);
    const statement = writeStatement('upsert', { tenantId, type, id, json: JSON.stringify(doc(i)), operation: 'save', keepVersions: null });
    return pool.query({ ...statement, name: `raw_${statement.name}` });
  };
  const rawLoad = async (i: number) => {
    const { rows } = await pool.query<{ version: number; data: Doc }>({ name: 'raw_load', text: LOAD_SQL.text, values: [...key('raw', i % n)] });
    return rows[0];
  };
  const rawModify = async (i: number, change: (d: Doc) => Doc, operation: string) => {
    const [tenantId, type, id] = key('raw', i % n);
    const { rows } = await pool.query<{ version: number; data: Doc }>({ name: 'raw_load', text: LOAD_SQL.text, values: [tenantId, type, id] });
    const row = rows[0]!;
    const statement = writeStatement('expect', { tenantId, type, id, json: JSON.stringify(change(row.data)), operation, expectedVersion: row.version, keepVersions: null });
    return pool.query({ ...statement, name: `raw_${statement.name}` });
  };
  const ops: Array<[string, SideMeasurement, SideMeasurement]> = [];
  ops.push(['save (upsert + history, 1 KiB)', ...(await compare((i) => docs.save(`ours-${i}`, doc(i)), rawSave))]);
  // Autovacuum would have analysed the tables by now in any real deployment. Without statistics,
  // PostgreSQL 15 may answer id lookups from the (tenant_id, type, updated_at) index and filter
  // every row of the type (see README, "Operational notes").
  await pool.query('ANALYZE objects, object_versions');
  ops.push(['load by id', ...(await compare((i) => docs.load(`ours-${i % n}`), rawLoad))]);
  ops.push([
    'update(fn) (load + conditional write)',
    ...(await compare(
      (i) => docs.update(`ours-${i % n}`, (d) => ({ ...d, count: d.count + 1 })),
      (i) => rawModify(i, (d) => ({ ...d, count: d.count + 1 }), 'update'),
    )),
  ]);
  const patch = [
    { op: 'test' as const, path: '/title', value: 'x' },
    { op: 'replace' as const, path: '/count', value: 7 },
    { op: 'add' as const, path: '/tags/-', value: 'd' },
  ];
  ops.push([
    'patch (test + replace + add)',
    ...(await compare(
      (i) => docs.patch(`ours-${i % n}`, [{ ...patch[0]!, value: `doc ${i % n}` }, patch[1]!, { ...patch[2]! }]),
      (i) =>
        rawModify(i, (d) => jsonPatch.applyPatch(d, [{ ...patch[0]!, value: `doc ${i % n}` }, patch[1]!, { ...patch[2]! }], true, true).newDocument, 'patch'),
    )),
  ]);

  // The same loads through the Redis read-through cache (every entry already cached by the warm-up pass).
  const redis = createRedis({ url: redisUrl, keyPrefix: `cairn-bench:${process.pid}:` });
  await redis.ready();
  const cachedStore = createObjectStore(db, { redis });
  const cached = cachedStore.collection('Doc', Doc);
  for (let i = 0; i < n; i++) await cached.load(`ours-${i}`);
  ops.push(['load by id, Redis cache hit', ...(await compare((i) => cached.load(`ours-${i % n}`), rawLoad))]);
  await cachedStore.close();
  await redis.close();

  // Write-behind: how fast save() returns, and how long the queue takes to persist it all.
  const errors: WriteBehindError[] = [];
  const behind = createObjectStore(db, { tenantId: 'wb', persistence: { mode: 'write-behind', maxPending: 10_000, batchSize: 200, onError: (e) => errors.push(e) } });
  const queued = behind.collection('Doc', Doc);
  const wbStart = performance.now();
  for (let i = 0; i < n; i++) await queued.save(`wb-${i}`, doc(i));
  const returned = performance.now() - wbStart;
  await behind.close();
  const drained = performance.now() - wbStart;
  await store.close();

  const health = await db.healthCheck();
  const fmt = (x: number) => x.toFixed(x < 10 ? 3 : 0);
  console.log(
    `\n@cairn/objects bench: ${n} sequential ops per side in ${rounds} interleaved rounds, one client, 1 KiB JSON documents\n` +
      `${describeMachine()}, PostgreSQL ${health.serverVersion} on loopback\n`,
  );
  printTable(
    ['operation', '@cairn/objects ops/s', 'p50 ms', 'p99 ms', 'raw pg ops/s', 'p50 ms', 'p99 ms', 'objects / raw'],
    ops.map(([name, ours, raw]) => [name, fmt(ours.opsPerSec), fmt(ours.p50), fmt(ours.p99), fmt(raw.opsPerSec), fmt(raw.p50), fmt(raw.p99), `${(ours.opsPerSec / raw.opsPerSec).toFixed(2)}×`]),
  );
  console.log(
    `\nwrite-behind save: ${n} saves returned in ${returned.toFixed(0)} ms (${fmt((n / returned) * 1000)} ops/s); ` +
      `all persisted after ${drained.toFixed(0)} ms (${fmt((n / drained) * 1000)} ops/s, batches of 200); ${errors.length} errors`,
  );
} finally {
  await db.close();
  await scratch.drop();
}
