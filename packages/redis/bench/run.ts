// Benchmark: RedisCache against plain ioredis calls on the same Redis, same process, 1 KiB values.
// Entry point: reads REDIS_URL and BENCH_N.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis, RedisCache } from '@cairn/redis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const n = Number(process.env.BENCH_N ?? 20_000);
const prefix = `cairn-bench:${randomUUID()}:`;
const value = { text: 'x'.repeat(1000), n: 1 };
const raw = JSON.stringify(value);

interface Figures {
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function sequential(op: (i: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 500; i++) await op(i);
  const times = new Float64Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op(i);
    times[i] = performance.now() - t;
  }
  const total = performance.now() - start;
  times.sort();
  return { opsPerSec: (n / total) * 1000, p50: times[Math.floor(n * 0.5)]!, p99: times[Math.floor(n * 0.99)]! };
}

/** `concurrency` callers at once: where auto-pipelining batches commands into one write. */
async function concurrent(op: (i: number) => Promise<unknown>, concurrency = 64): Promise<Figures> {
  const times: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        times.push(performance.now() - t);
      }
    }),
  );
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { opsPerSec: (n / total) * 1000, p50: times[Math.floor(n * 0.5)]!, p99: times[Math.floor(n * 0.99)]! };
}

const plain = new Redis(url);
const plainPipelined = new Redis(url, { enableAutoPipelining: true });
const cairn = createRedis({ url, keyPrefix: prefix, enableAutoPipelining: true });
const cairnNoPipe = createRedis({ url, keyPrefix: prefix, enableAutoPipelining: false });
await cairn.ready();
await cairnNoPipe.ready();
const cache = new RedisCache(cairn, { namespace: 'bench', defaultTtlSeconds: 600 });
const cacheNoPipe = new RedisCache(cairnNoPipe, { namespace: 'bench', defaultTtlSeconds: 600 });

const keys = 1000;
for (let i = 0; i < keys; i++) {
  await plain.set(`${prefix}raw:${i}`, raw, 'EX', 600);
  await cache.set(`k${i}`, value);
}

const rows: [string, Figures, string, Figures][] = [];
rows.push(['cache.get (hit), sequential', await sequential((i) => cache.get(`k${i % keys}`)), 'GET', await sequential((i) => plain.get(`${prefix}raw:${i % keys}`))]);
rows.push([
  'cache.get (hit), sequential',
  await sequential((i) => cache.get(`k${i % keys}`)),
  'GET + JSON.parse',
  await sequential(async (i) => JSON.parse((await plain.get(`${prefix}raw:${i % keys}`))!)),
]);
rows.push(['cache.set, sequential', await sequential((i) => cache.set(`k${i % keys}`, value)), 'SET EX', await sequential((i) => plain.set(`${prefix}raw:${i % keys}`, raw, 'EX', 600))]);
rows.push(['cache.get, 64 concurrent, no auto-pipelining', await concurrent((i) => cacheNoPipe.get(`k${i % keys}`)), 'GET, no auto-pipelining', await concurrent((i) => plain.get(`${prefix}raw:${i % keys}`))]);
rows.push(['cache.get, 64 concurrent, auto-pipelining', await concurrent((i) => cache.get(`k${i % keys}`)), 'GET, auto-pipelining', await concurrent((i) => plainPipelined.get(`${prefix}raw:${i % keys}`))]);
rows.push(['cache.set, 64 concurrent, no auto-pipelining', await concurrent((i) => cacheNoPipe.set(`k${i % keys}`, value)), 'SET, no auto-pipelining', await concurrent((i) => plain.set(`${prefix}raw:${i % keys}`, raw, 'EX', 600))]);
rows.push(['cache.set, 64 concurrent, auto-pipelining', await concurrent((i) => cache.set(`k${i % keys}`, value)), 'SET, auto-pipelining', await concurrent((i) => plainPipelined.set(`${prefix}raw:${i % keys}`, raw, 'EX', 600))]);

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(3));
console.log(`\n@cairn/redis bench: ${n} ops per row, 1 KiB values, Redis at ${url.replace(/\/\/.*@/, '//***@')}\n`);
console.log('| Cairn | ops/s | p50 ms | p99 ms | plain ioredis | ops/s | p50 ms | p99 ms | time ratio (Cairn / plain) |');
console.log('| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
for (const [name, ours, baseName, base] of rows) {
  console.log(`| ${name} | ${f(ours.opsPerSec)} | ${f(ours.p50)} | ${f(ours.p99)} | ${baseName} | ${f(base.opsPerSec)} | ${f(base.p50)} | ${f(base.p99)} | ${(base.opsPerSec / ours.opsPerSec).toFixed(2)}× |`);
}

await cache.clear();
for (let i = 0; i < keys; i++) await plain.del(`${prefix}raw:${i}`);
cache.close();
cacheNoPipe.close();
await Promise.all([cairn.close(), cairnNoPipe.close(), plain.quit(), plainPipelined.quit()]);
