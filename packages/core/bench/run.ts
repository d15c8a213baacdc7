// Benchmark: JsonSerializer against plain JSON.stringify/parse (the baseline: what it costs to keep
// Dates, Maps, BigInts... intact), same process, same input.
import { JsonSerializer } from '@cairn/core';

const serializer = new JsonSerializer();
const n = Number(process.env.BENCH_N ?? 20_000);

function state(size: number) {
  return {
    messages: Array.from({ length: size }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.repeat(8), at: new Date(1_700_000_000_000 + i) })),
    counters: new Map(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    seen: new Set(['a', 'b', 'c']),
  };
}

function time(count: number, fn: () => unknown): number {
  for (let i = 0; i < 500; i++) fn();
  const start = performance.now();
  for (let i = 0; i < count; i++) fn();
  return (count / (performance.now() - start)) * 1000;
}

console.log(`\n@cairn/core bench: ${n} iterations per row\n`);
console.log('| state | JsonSerializer round trips/s | JSON.stringify+parse round trips/s | ratio |');
console.log('| --- | ---: | ---: | ---: |');
for (const size of [4, 64]) {
  const value = state(size);
  const plain = { ...value, counters: Object.fromEntries(value.counters), seen: [...value.seen] };
  const ours = time(n, () => serializer.deserialize(serializer.serialize(value)));
  const base = time(n, () => JSON.parse(JSON.stringify(plain)));
  const bytes = serializer.serialize(value).byteLength;
  console.log(`| ${size} messages (${(bytes / 1024).toFixed(1)} KiB) | ${ours.toFixed(0)} | ${base.toFixed(0)} | ${(ours / base).toFixed(2)}× |`);
}
