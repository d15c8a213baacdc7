// Benchmark: JsonSerializer against plain JSON.stringify/parse (the baseline: what it costs to keep
// Dates, Maps, BigInts... intact), same process, same input, interleaved in rounds.
// Entry point: BENCH_N (round trips per side and row, default 20 000).
import { compareInterleaved, describeMachine, envInteger, printTable } from '@cairn/bench-kit';
import { JsonSerializer } from '@cairn/core';

const serializer = new JsonSerializer();
const n = envInteger('BENCH_N', 20_000);
const rounds = 10;

function state(size: number) {
  return {
    messages: Array.from({ length: size }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.repeat(8), at: new Date(1_700_000_000_000 + i) })),
    counters: new Map(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    seen: new Set(['a', 'b', 'c']),
  };
}

console.log(`\n@cairn/core bench: ${n} round trips per side and row in ${rounds} interleaved rounds; ${describeMachine()}\n`);
const rows: string[][] = [];
for (const size of [4, 64]) {
  const value = state(size);
  const plain = { ...value, counters: Object.fromEntries(value.counters), seen: [...value.seen] };
  // A round trip takes microseconds: timed per round, not per call (two clock reads would show).
  const r = await compareInterleaved(
    { ours: () => serializer.deserialize(serializer.serialize(value)), base: () => JSON.parse(JSON.stringify(plain)) as unknown },
    { ops: n, rounds, warmup: { calls: 500 }, timeCalls: false },
  );
  const kib = serializer.serialize(value).byteLength / 1024;
  rows.push([`${size} messages (${kib.toFixed(1)} KiB)`, r.ours.opsPerSec.toFixed(0), r.base.opsPerSec.toFixed(0), `${(r.ours.opsPerSec / r.base.opsPerSec).toFixed(2)}×`]);
}
printTable(['state', 'JsonSerializer round trips/s', 'JSON.stringify+parse round trips/s', 'ratio'], rows);
