// Benchmark: plain GET of a 1 KiB value, one call at a time and with 64 callers, through ioredis
// 5.11.1 and 6.0.0 in one process (and 6.0.0 over RESP2), in rounds of rotating order, so that the
// upgrade's own cost shows apart from Cairn's. Needs ioredis 5.11.1 in the pnpm store (a dependency
// of @langchain/community pulls it in). Entry point: BENCH_REDIS_URL (else REDIS_URL), BENCH_N (calls per
// side and row, default 40 000), BENCH_ROUNDS (default 20).
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareInterleaved, describeMachine, envInteger, medianRoundRatio, printTable, redisUrlFromEnv } from '@cairn/bench-kit';

const url = redisUrlFromEnv();
const n = envInteger('BENCH_N', 40_000);
const rounds = envInteger('BENCH_ROUNDS', 20);
const store = path.resolve(fileURLToPath(new URL('../../../node_modules/.pnpm', import.meta.url)));
const require = createRequire(import.meta.url);

function load(version: string): new (url: string, options?: object) => { get(k: string): Promise<string | null>; set(...a: unknown[]): Promise<unknown>; quit(): Promise<unknown> } {
  const dir = readdirSync(store).find((d) => d.startsWith(`ioredis@${version}`));
  const entry = dir && path.join(store, dir, 'node_modules', 'ioredis');
  if (!entry || !existsSync(entry)) throw new Error(`ioredis ${version} is not in ${store}`);
  return (require(entry) as { Redis: never }).Redis;
}

const sides = [
  { name: 'ioredis 5.11.1', client: new (load('5.11.1'))(url) },
  { name: 'ioredis 6.0.0 (RESP3)', client: new (load('6.0.0'))(url) },
  { name: 'ioredis 6.0.0, protocol: 2', client: new (load('6.0.0'))(url, { protocol: 2 }) },
];
const key = `cairn-bench-versions:${process.pid}`;
await sides[0]!.client.set(key, 'x'.repeat(1024), 'EX', 600);

const get = Object.fromEntries(sides.map((s) => [s.name, () => s.client.get(key)]));

console.log(`\nplain GET of 1 KiB, ${n} calls per side and row, ${rounds} rounds in rotating order; ${describeMachine()}\n`);
const rows: string[][] = [];
for (const callers of [1, 64]) {
  // A GET takes tens of microseconds: timed per round (two clock reads per call would show in the CPU column).
  const r = await compareInterleaved(get, { ops: n, rounds, concurrency: callers, warmup: { calls: 3000 }, timeCalls: false });
  const [old, current] = [r[sides[0]!.name]!, r[sides[1]!.name]!];
  rows.push([
    String(callers),
    ...sides.map((s) => `${r[s.name]!.opsPerSec.toFixed(0)}, ${(r[s.name]!.cpuUs / n).toFixed(1)}`),
    `${medianRoundRatio(current, old).toFixed(2)}×`,
    `${(current.cpuUs / old.cpuUs).toFixed(2)}×`,
  ]);
}
const columns = ['callers', ...sides.map((s) => `${s.name} ops/s, CPU µs/op`), '6.0.0 / 5.11.1 time (median of rounds)', 'CPU'];
printTable(columns, rows, { align: columns.map(() => 'right' as const) });
await Promise.all(sides.map((s) => s.client.quit()));
