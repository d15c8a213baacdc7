// Our side against a baseline, measured so that a machine whose load drifts (other processes,
// autovacuum, CPU frequency) cannot favour either: every side's calls are cut into rounds, the
// sides take turns round by round, and who goes first rotates, so neither always runs on a cache
// or a heap the other just left behind. Each side warms up first (the JIT settles on a library's
// longer code path only after thousands of calls).
import { performance } from 'node:perf_hooks';
import { median, summarize, type Measurement } from './statistics.js';

/** One call of a side; `index` counts up from 0 over the measured calls (from `warmup.from` in the warm-up). May return a promise, which is awaited. */
export type BenchCall = (index: number) => unknown;

/** Calls made before measuring, per side, which count for nothing. */
export interface WarmupOptions<K extends string> {
  /** Calls per side. */
  calls: number;
  /** Ends a side's warm-up after this many milliseconds even if `calls` are not done, so a slow baseline does not stretch the run. Default: no limit. */
  maxMs?: number;
  /** Index of the first warm-up call; the next ones count up. Start past the measured indices when a write must not touch the ids the measurement uses. Default 0. */
  from?: number;
  /** Functions to warm up with instead of the measured ones (writes to threads of their own, say, so the measured ones keep their size). */
  sides?: Partial<Record<K, BenchCall>>;
}

export interface CompareOptions<K extends string> {
  /** Calls measured per side. */
  ops: number;
  /** Rounds the calls are cut into (as evenly as they divide). Default 10; never more than `ops`. */
  rounds?: number;
  /** Callers running a side's share of a round at once. Default 1 (one call after another). */
  concurrency?: number;
  /** Default: no warm-up. */
  warmup?: WarmupOptions<K>;
  /** Time every call for p50 / p99. `false` times each round's share only, for calls so short that two clock reads would show (p50 and p99 are then `NaN`). Default true. */
  timeCalls?: boolean;
}

/** One side's figures over all rounds, with what each round took. */
export interface SideMeasurement extends Measurement {
  /** This process' CPU time (user + system) while the side ran, in microseconds: what the client-side code costs. */
  cpuUs: number;
  /** Wall milliseconds of the side's share of each round. */
  roundMs: number[];
  /** Calls in the side's share of each round (the same for every side). */
  roundOps: number[];
}

/**
 * Runs every side `options.ops` times, interleaved in rounds with the starting side rotating each
 * round (for two sides: one, the other, the other, the first, …), after the warm-up. Returns each
 * side's figures in the order of `sides`. Throughput is over the wall time of the side's rounds.
 */
export async function compareInterleaved<K extends string>(sides: Record<K, BenchCall>, options: CompareOptions<K>): Promise<Record<K, SideMeasurement>> {
  const names = Object.keys(sides) as K[];
  const { ops, concurrency = 1, timeCalls = true, warmup } = options;
  for (const [what, value, least] of [['ops', ops, 0], ['rounds', options.rounds ?? 10, 1], ['concurrency', concurrency, 1]] as const) {
    if (!Number.isInteger(value) || value < least) throw new RangeError(`${what} must be an integer of at least ${least}, got ${value}`);
  }
  if (warmup !== undefined && warmup.calls > 0) {
    for (const name of names) {
      const until = warmup.maxMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + warmup.maxMs;
      await runCalls(warmup.sides?.[name] ?? sides[name], warmup.from ?? 0, warmup.calls, concurrency, () => performance.now() < until, undefined);
    }
  }
  const rounds = Math.min(options.rounds ?? 10, ops);
  const state = names.map(() => ({ latencies: [] as number[], ms: 0, cpuUs: 0, roundMs: [] as number[], roundOps: [] as number[] }));
  for (let r = 0; r < rounds; r += 1) {
    const from = Math.floor((r * ops) / rounds);
    const count = Math.floor(((r + 1) * ops) / rounds) - from;
    for (let j = 0; j < names.length; j += 1) {
      const s = (j + r) % names.length;
      const side = state[s]!;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await runCalls(sides[names[s]!], from, count, concurrency, undefined, timeCalls ? side.latencies : undefined);
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      side.ms += ms;
      side.cpuUs += used.user + used.system;
      side.roundMs.push(ms);
      side.roundOps.push(count);
    }
  }
  return Object.fromEntries(
    names.map((name, s) => {
      const { latencies, ms, cpuUs, roundMs, roundOps } = state[s]!;
      return [name, { ...summarize(latencies, ms, ops), cpuUs, roundMs, roundOps }];
    }),
  ) as Record<K, SideMeasurement>;
}

/**
 * The median over rounds of `ours`' time / `base`'s time for the same calls: a ratio that load
 * drifting during the run moves less than the ratio of the totals. Above 1, `ours` is slower.
 */
export function medianRoundRatio(ours: SideMeasurement, base: SideMeasurement): number {
  if (ours.roundMs.length !== base.roundMs.length) throw new RangeError('the two sides ran different numbers of rounds');
  return median(ours.roundMs.map((ms, r) => ms / base.roundMs[r]!));
}

/** Calls `fn` for indices `from` … `from + count - 1`, `concurrency` at a time, while `more()` allows; pushes each call's milliseconds into `latencies` if given. */
async function runCalls(fn: BenchCall, from: number, count: number, concurrency: number, more: (() => boolean) | undefined, latencies: number[] | undefined): Promise<void> {
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < count && (more === undefined || more())) {
      const index = from + next++;
      if (latencies === undefined) {
        const result = fn(index);
        if (isPromiseLike(result)) await result;
      } else {
        const started = performance.now();
        const result = fn(index);
        if (isPromiseLike(result)) await result;
        latencies.push(performance.now() - started);
      }
    }
  };
  if (concurrency === 1) await caller();
  else await Promise.all(Array.from({ length: concurrency }, caller));
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
