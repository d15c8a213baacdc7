// Benchmark: CairnStore against LangGraph's PostgresStore, same PostgreSQL, same process, one
// client at a time, the two interleaved in rounds. Both hold the same items (384-dimensional
// vectors from an embedder that costs next to nothing, so the stores are measured) and answer the
// same calls: put, get, search by filter, semantic search, listNamespaces. Semantic search also
// reports recall@10 of CairnStore's index against its exact ranking. `get` is measured twice more:
// through CairnStore's Redis cache with every read a hit (what createCairn({ redisUrl, store }) gives
// repeated reads of the same memories), and with every read a miss.
//
//   pnpm --filter @cairn/store bench
//   BENCH_ITEMS=10000 BENCH_OPS=1000 BENCH_DIMS=384 BENCH_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres pnpm --filter @cairn/store bench
//
// A fresh database is created (Cairn's migrations applied; PostgresStore's tables in schema
// `langgraph`, made by its setup()) and dropped at the end.
import { PostgresStore } from '@langchain/langgraph-checkpoint-postgres/store';
import { adminUrlFromEnv, compareInterleaved, describeMachine, envInteger, printTable, redisUrlFromEnv, scratchDatabase, type BenchCall, type SideMeasurement } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';
import { createRedis } from '@cairn/redis';
import { CairnStore } from '../src/index.js';

const ITEMS = envInteger('BENCH_ITEMS', 10_000);
const OPS = envInteger('BENCH_OPS', 500);
const DIMS = envInteger('BENCH_DIMS', 384);
const WARMUP = envInteger('BENCH_WARMUP', 200);
const RECALL_QUERIES = envInteger('BENCH_RECALL_QUERIES', 50);
const EF_SEARCH = envInteger('BENCH_EF_SEARCH', 100);
const USERS = 100;
const KINDS = ['fact', 'preference', 'episode', 'instruction', 'note'];

/** A unit vector from a seeded generator: what a text embeds to, computed in microseconds. */
function vectorOf(text: string): number[] {
  let x = 2166136261;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 16777619) >>> 0;
  const v = new Array<number>(DIMS);
  let norm = 0;
  for (let i = 0; i < DIMS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    v[i] = x / 2 ** 32 - 0.5;
    norm += v[i]! * v[i]!;
  }
  return v.map((c) => c / Math.sqrt(norm));
}
const embed = async (texts: string[]) => texts.map(vectorOf);
const index = { dims: DIMS, embed, fields: ['text'] };

const namespaceOf = (i: number) => ['users', `u${i % USERS}`, 'memories'];
const valueOf = (i: number) => ({ text: `memory ${i} of user ${i % USERS}`, kind: KINDS[i % KINDS.length]!, n: i });

const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench_store' });
const db = await createDb({ url: scratch.url, migrate: true, pool: { max: 4 } });
const cairn = new CairnStore(db, { tenantId: 'bench', index: { ...index, efSearch: EF_SEARCH } });
const exact = new CairnStore(db, { tenantId: 'bench', index: { ...index, exact: true } });
const lg = new PostgresStore({ connectionOptions: scratch.url, schema: 'langgraph', index });
const redis = createRedis({ url: redisUrlFromEnv(), keyPrefix: `cairn-bench-store-${process.pid}:` });
const cached = new CairnStore(db, { tenantId: 'bench', index: { ...index, efSearch: EF_SEARCH }, cache: { redis } });

try {
  await lg.setup();
  await cairn.start();
  const load = async (store: CairnStore | PostgresStore) => {
    for (let from = 0; from < ITEMS; from += 100) {
      const puts = Array.from({ length: Math.min(100, ITEMS - from) }, (_, j) => ({ namespace: namespaceOf(from + j), key: `m${from + j}`, value: valueOf(from + j) }));
      await store.batch(puts);
    }
  };
  await load(cairn);
  await load(lg);
  await db.pool.query('ANALYZE');

  type Side = 'cairn' | 'postgresStore';
  const rows: [string, SideMeasurement, SideMeasurement][] = [];
  const compare = async (name: string, call: (store: CairnStore | PostgresStore) => BenchCall, ours: CairnStore = cairn) => {
    const result = await compareInterleaved<Side>({ cairn: call(ours), postgresStore: call(lg) }, { ops: OPS, rounds: 10, warmup: { calls: WARMUP, maxMs: 3000, from: OPS } });
    rows.push([name, result.cairn, result.postgresStore]);
  };
  await compare('put (update, re-embed)', (s) => (i) => s.put(namespaceOf(i), `m${i % ITEMS}`, valueOf(i % ITEMS)));
  await compare('get', (s) => (i) => s.get(namespaceOf(i), `m${(i * 7919) % ITEMS}`));
  await redis.ready();
  // Every key the next row reads, warm-up included, read once through the cache first: all hits.
  for (let i = 0; i < OPS + WARMUP; i++) await cached.get(namespaceOf(i), `m${(i * 7919) % ITEMS}`);
  await compare('get, Redis cache, hits', (s) => (i) => s.get(namespaceOf(i), `m${(i * 7919) % ITEMS}`), cached);
  // Keys nobody read through the cache yet (another stride): every call a miss that fills.
  await compare('get, Redis cache, misses', (s) => (i) => s.get(namespaceOf(i), `m${(i * 7 + 3) % ITEMS}`), cached);
  await compare('search by filter (one user, kind)', (s) => (i) => s.search(namespaceOf(i), { filter: { kind: KINDS[i % KINDS.length]! }, limit: 10 }));
  await compare('semantic search (all users, top 10)', (s) => (i) => s.search(['users'], { query: `what happened ${i}`, limit: 10 }));
  await compare('listNamespaces (prefix users)', (s) => () => s.listNamespaces({ prefix: ['users'], limit: 100 }));

  let hits = 0;
  for (let q = 0; q < RECALL_QUERIES; q++) {
    const query = `recall query ${q}`;
    const truth = new Set((await exact.search(['users'], { query, limit: 10 })).map((r) => r.key));
    hits += (await cairn.search(['users'], { query, limit: 10 })).filter((r) => truth.has(r.key)).length;
  }
  const recall = hits / (RECALL_QUERIES * 10);

  const health = await db.healthCheck();
  console.log(
    `\n@cairn/store vs PostgresStore: ${ITEMS} items, ${DIMS} dimensions, ${OPS} calls per row, one client, interleaved rounds.\n` +
      `${describeMachine()}, PostgreSQL ${health.serverVersion}, pgvector ${health.pgvectorVersion} on loopback\n`,
  );
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  printTable(
    ['operation', 'CairnStore ops/s', 'p50 ms', 'p99 ms', 'PostgresStore ops/s', 'p50 ms', 'p99 ms', 'ratio'],
    rows.map(([name, ours, theirs]) => [name, fmt(ours.opsPerSec), fmt(ours.p50), fmt(ours.p99), fmt(theirs.opsPerSec), fmt(theirs.p50), fmt(theirs.p99), `${(ours.opsPerSec / theirs.opsPerSec).toFixed(2)}×`]),
  );
  console.log(`\nCairnStore semantic search recall@10 against its exact ranking: ${recall.toFixed(3)} (${RECALL_QUERIES} queries, ef_search ${EF_SEARCH})`);
} finally {
  await lg.stop();
  await exact.close();
  await cached.close();
  await redis.close();
  await cairn.close();
  await db.close();
  await scratch.drop();
}
