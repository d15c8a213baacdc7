// Benchmark: RedisCache against plain ioredis calls on the same Redis, in the same process, 1 KiB
// values, and RedisCache with ioredis' auto-pipelining on against off. Each pair runs in alternating
// rounds (one side, the other, the other, the first, ...) so that noise from a shared machine falls
// on both sides alike; the ratio is the median of the per-round ratios.
// Entry point: reads BENCH_REDIS_URL (else REDIS_URL), BENCH_N (ops per side and row), BENCH_ROUNDS,
// BENCH_WARMUP and BENCH_TABLES (`plain,pipelining`, the default, or one of them).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { compareInterleaved, describeMachine, envInteger, envString, medianRoundRatio, printTable, redisUrlFromEnv, type BenchCall, type SideMeasurement } from '@cairn/bench-kit';
import { createRedis, RedisCache } from '@cairn/redis';

const url = redisUrlFromEnv();
const n = envInteger('BENCH_N', 60_000);
const rounds = envInteger('BENCH_ROUNDS', 20);
// Calls per side before measuring, so the JIT has settled on both (the library runs more code per call).
const WARMUP = envInteger('BENCH_WARMUP', 5000);
const prefix = `cairn-bench:${randomUUID()}:`;
const value = { text: 'x'.repeat(1000), n: 1 };
const raw = JSON.stringify(value);
const keys = 1000;
const tables = new Set(envString('BENCH_TABLES', 'plain,pipelining').split(','));
const ioredisVersion = (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;

interface Row {
  name: string;
  baseline: string;
  ours: SideMeasurement;
  base: SideMeasurement;
  ratio: number;
}

/** Both sides, `n` calls each with `concurrency` callers, in alternating rounds after the warm-up; ratio: median over rounds of ours' time / base's. */
async function pair(name: string, ours: BenchCall, baseline: string, base: BenchCall, concurrency = 1): Promise<Row> {
  const r = await compareInterleaved({ ours, base }, { ops: n, rounds, concurrency, warmup: { calls: WARMUP } });
  return { name, baseline, ours: r.ours, base: r.base, ratio: medianRoundRatio(r.ours, r.base) };
}

const plain = new Redis(url);
const plainPipelined = new Redis(url, { enableAutoPipelining: true });
const cairn = createRedis({ url, keyPrefix: prefix, enableAutoPipelining: true });
const cairnNoPipe = createRedis({ url, keyPrefix: prefix, enableAutoPipelining: false });
await Promise.all([cairn.ready(), cairnNoPipe.ready()]);
const cache = new RedisCache(cairn, { namespace: 'bench', defaultTtlSeconds: 600 });
const cacheNoPipe = new RedisCache(cairnNoPipe, { namespace: 'bench', defaultTtlSeconds: 600 });

for (let i = 0; i < keys; i++) {
  await plain.set(`${prefix}raw:${i}`, raw, 'EX', 600);
  await cache.set(`k${i}`, value);
}

const rawKey = (i: number) => `${prefix}raw:${i % keys}`;
const cacheKey = (i: number) => `k${i % keys}`;

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(3));
const cpuPerOp = (s: SideMeasurement) => s.cpuUs / s.ops;

/** Prints one table; `ours` and `base` name the two sides' columns. */
function print(title: string, ours: string, base: string, rows: Row[]): void {
  console.log(`\n${title}\n`);
  const side = (s: SideMeasurement) => [f(s.opsPerSec), f(s.p50), f(s.p99), cpuPerOp(s).toFixed(1)];
  printTable(
    [ours, 'ops/s', 'p50 ms', 'p99 ms', 'CPU µs/op', base, 'ops/s', 'p50 ms', 'p99 ms', 'CPU µs/op', 'time ratio', 'CPU ratio'],
    rows.map((row) => [row.name, ...side(row.ours), row.baseline, ...side(row.base), `${row.ratio.toFixed(2)}×`, `${(cpuPerOp(row.ours) / cpuPerOp(row.base)).toFixed(2)}×`]),
    { align: ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'] },
  );
}

console.log(`\n@cairn/redis bench: ${n} ops per side and row in ${rounds} alternating rounds, 1 KiB values, ioredis ${ioredisVersion}, Redis at ${url.replace(/\/\/.*@/, '//***@')}; ${describeMachine()}`);
console.log('time ratio: median over rounds of the first side\'s time / the second side\'s time; CPU: this process, user + system');

if (tables.has('plain')) {
  const rows: Row[] = [];
  rows.push(await pair('cache.get (hit), sequential', (i) => cacheNoPipe.get(cacheKey(i)), 'GET', (i) => plain.get(rawKey(i))));
  rows.push(await pair('cache.get (hit), sequential', (i) => cacheNoPipe.get(cacheKey(i)), 'GET + JSON.parse', async (i) => JSON.parse((await plain.get(rawKey(i)))!)));
  rows.push(await pair('cache.getOrLoad (hit), sequential', (i) => cacheNoPipe.getOrLoad(cacheKey(i), async () => value), 'GET', (i) => plain.get(rawKey(i))));
  rows.push(await pair('cache.set, sequential', (i) => cacheNoPipe.set(cacheKey(i), value), 'SET EX', (i) => plain.set(rawKey(i), raw, 'EX', 600)));
  rows.push(await pair('cache.get, 64 callers, no auto-pipelining', (i) => cacheNoPipe.get(cacheKey(i)), 'GET, no auto-pipelining', (i) => plain.get(rawKey(i)), 64));
  rows.push(await pair('cache.get, 64 callers, auto-pipelining', (i) => cache.get(cacheKey(i)), 'GET, auto-pipelining', (i) => plainPipelined.get(rawKey(i)), 64));
  rows.push(await pair('cache.get, 64 callers, auto-pipelining', (i) => cache.get(cacheKey(i)), 'GET + JSON.parse, auto-pipelining', async (i) => JSON.parse((await plainPipelined.get(rawKey(i)))!), 64));
  rows.push(await pair('cache.set, 64 callers, no auto-pipelining', (i) => cacheNoPipe.set(cacheKey(i), value), 'SET EX, no auto-pipelining', (i) => plain.set(rawKey(i), raw, 'EX', 600), 64));
  rows.push(await pair('cache.set, 64 callers, auto-pipelining', (i) => cache.set(cacheKey(i), value), 'SET EX, auto-pipelining', (i) => plainPipelined.set(rawKey(i), raw, 'EX', 600), 64));
  print('RedisCache against plain ioredis', 'Cairn', 'plain ioredis', rows);
}

if (tables.has('pipelining')) {
  // The same cache calls on two connections that differ only in enableAutoPipelining.
  const rows: Row[] = [];
  for (const callers of [1, 8, 64]) {
    const who = callers === 1 ? 'sequential' : `${callers} callers`;
    rows.push(await pair(`cache.get (hit), ${who}`, (i) => cache.get(cacheKey(i)), 'off', (i) => cacheNoPipe.get(cacheKey(i)), callers));
    rows.push(await pair(`cache.getOrLoad (hit), ${who}`, (i) => cache.getOrLoad(cacheKey(i), async () => value), 'off', (i) => cacheNoPipe.getOrLoad(cacheKey(i), async () => value), callers));
    rows.push(await pair(`cache.set, ${who}`, (i) => cache.set(cacheKey(i), value), 'off', (i) => cacheNoPipe.set(cacheKey(i), value), callers));
  }
  print('RedisCache with auto-pipelining on against off', 'auto-pipelining on', 'off', rows);
}

await cache.clear();
for (let i = 0; i < keys; i++) await plain.del(rawKey(i));
cache.close();
cacheNoPipe.close();
await Promise.all([cairn.close(), cairnNoPipe.close(), plain.quit(), plainPipelined.quit()]);
