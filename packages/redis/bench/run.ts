// Benchmark: RedisCache against plain ioredis calls on the same Redis, in the same process, 1 KiB
// values, and RedisCache with ioredis' auto-pipelining on against off. Each pair runs in alternating
// rounds (one side, the other, the other, the first, ...) so that noise from a shared machine falls
// on both sides alike; the ratio is the median of the per-round ratios.
// Entry point: reads REDIS_URL, BENCH_N (ops per side and row), BENCH_ROUNDS, BENCH_WARMUP and
// BENCH_TABLES (`plain,pipelining`, the default, or one of them).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { createRedis, RedisCache } from '@cairn/redis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const n = Number(process.env.BENCH_N ?? 60_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
// Calls per side before measuring, so the JIT has settled on both (the library runs more code per call).
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5000);
const perRound = Math.max(1, Math.floor(n / rounds));
const prefix = `cairn-bench:${randomUUID()}:`;
const value = { text: 'x'.repeat(1000), n: 1 };
const raw = JSON.stringify(value);
const keys = 1000;
const tables = new Set((process.env.BENCH_TABLES ?? 'plain,pipelining').split(','));
const ioredisVersion = (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;

type Op = (i: number) => Promise<unknown>;

interface Side {
  ms: number;
  /** Client-process CPU (user + system) in microseconds: what the library itself costs. */
  cpuUs: number;
  ops: number;
  latencies: number[];
}

/** Runs `count` ops one after another, or with `concurrency` callers at once. */
async function runRound(op: Op, count: number, concurrency: number, into: Side): Promise<number> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await op(i);
        into.latencies.push(performance.now() - t);
      }
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  into.cpuUs += used.user + used.system;
  into.ms += ms;
  into.ops += count;
  return ms;
}

interface Row {
  name: string;
  baseline: string;
  ours: Side;
  base: Side;
  ratio: number;
}

async function pair(name: string, ours: Op, baseline: string, base: Op, concurrency = 1): Promise<Row> {
  // Warm-up (JIT, connections, scripts loaded) on both sides.
  await runRound(ours, WARMUP, concurrency, { ms: 0, cpuUs: 0, ops: 0, latencies: [] });
  await runRound(base, WARMUP, concurrency, { ms: 0, cpuUs: 0, ops: 0, latencies: [] });
  const a: Side = { ms: 0, cpuUs: 0, ops: 0, latencies: [] };
  const b: Side = { ms: 0, cpuUs: 0, ops: 0, latencies: [] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate who goes first, so neither side always follows the other's garbage.
    const [first, second] = r % 2 === 0 ? [() => runRound(ours, perRound, concurrency, a), () => runRound(base, perRound, concurrency, b)] : [() => runRound(base, perRound, concurrency, b), () => runRound(ours, perRound, concurrency, a)];
    const x = await first();
    const y = await second();
    ratios.push(r % 2 === 0 ? x / y : y / x);
  }
  ratios.sort((p, q) => p - q);
  return { name, baseline, ours: a, base: b, ratio: ratios[Math.floor(ratios.length / 2)]! };
}

function quantile(latencies: number[], q: number): number {
  const sorted = [...latencies].sort((p, q2) => p - q2);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
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
const opsPerSec = (s: Side) => (s.ops / s.ms) * 1000;
const cpuPerOp = (s: Side) => (s.cpuUs / s.ops).toFixed(1);

/** Prints one table; `ours` and `base` name the two sides' columns. */
function print(title: string, ours: string, base: string, rows: Row[]): void {
  console.log(`\n${title}\n`);
  console.log(`| ${ours} | ops/s | p50 ms | p99 ms | CPU µs/op | ${base} | ops/s | p50 ms | p99 ms | CPU µs/op | time ratio | CPU ratio |`);
  console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const { ours: a, base: b } = row;
    console.log(
      `| ${row.name} | ${f(opsPerSec(a))} | ${f(quantile(a.latencies, 0.5))} | ${f(quantile(a.latencies, 0.99))} | ${cpuPerOp(a)} | ${row.baseline} | ${f(opsPerSec(b))} | ${f(quantile(b.latencies, 0.5))} | ${f(quantile(b.latencies, 0.99))} | ${cpuPerOp(b)} | ${row.ratio.toFixed(2)}× | ${(a.cpuUs / a.ops / (b.cpuUs / b.ops)).toFixed(2)}× |`,
    );
  }
}

console.log(`\n@cairn/redis bench: ${perRound * rounds} ops per side and row in ${rounds} alternating rounds, 1 KiB values, ioredis ${ioredisVersion}, Node ${process.version}, Redis at ${url.replace(/\/\/.*@/, '//***@')}`);
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
