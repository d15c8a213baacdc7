// Benchmark: plain GET of a 1 KiB value, one call at a time and with 64 callers, through ioredis
// 5.11.1 and 6.0.0 in one process (and 6.0.0 over RESP2), in alternating rounds, so that the
// upgrade's own cost shows apart from Cairn's. Needs ioredis 5.11.1 in the pnpm store (a dependency
// of @langchain/community pulls it in). Entry point: REDIS_URL, BENCH_N, BENCH_ROUNDS.
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const n = Number(process.env.BENCH_N ?? 40_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const perRound = Math.floor(n / rounds);
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

const cpuUs = sides.map(() => 0);

/** Wall milliseconds of `count` calls; adds this process' CPU time (user + system) to cpuUs[side]. */
async function round(side: number, count: number, callers: number): Promise<number> {
  const get = () => sides[side]!.client.get(key);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, async () => {
    while (next++ < count) await get();
  }));
  const used = process.cpuUsage(cpu);
  cpuUs[side]! += used.user + used.system;
  return performance.now() - started;
}

console.log(`\nplain GET of 1 KiB, ${perRound * rounds} calls per side and row, ${rounds} rounds in rotating order, Node ${process.version}\n`);
console.log(`| callers | ${sides.map((s) => `${s.name} ops/s, CPU µs/op`).join(' | ')} | 6.0.0 / 5.11.1 time (median of rounds) | CPU |`);
console.log(`| ---: | ${sides.map(() => '---:').join(' | ')} | ---: | ---: |`);
for (const callers of [1, 64]) {
  for (let i = 0; i < sides.length; i++) await round(i, 3000, callers); // warm-up
  cpuUs.fill(0);
  const ms = sides.map(() => 0);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const times = sides.map(() => 0);
    for (let j = 0; j < sides.length; j++) {
      const i = (j + r) % sides.length; // rotate who goes first
      times[i] = await round(i, perRound, callers);
      ms[i]! += times[i]!;
    }
    ratios.push(times[1]! / times[0]!);
  }
  ratios.sort((a, b) => a - b);
  const calls = perRound * rounds;
  console.log(
    `| ${callers} | ${ms.map((m, i) => `${((calls / m) * 1000).toFixed(0)}, ${(cpuUs[i]! / calls).toFixed(1)}`).join(' | ')} | ${ratios[Math.floor(rounds / 2)]!.toFixed(2)}× | ${(cpuUs[1]! / cpuUs[0]!).toFixed(2)}× |`,
  );
}
await Promise.all(sides.map((s) => s.client.quit()));
