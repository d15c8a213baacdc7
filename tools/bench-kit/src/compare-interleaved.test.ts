import { describe, expect, it } from '@jest/globals';
import { compareInterleaved, medianRoundRatio, type SideMeasurement } from './compare-interleaved.js';

/** A side that records what it was called with, into one log shared by all sides. */
function recorder(log: string[], name: string) {
  return async (i: number) => {
    log.push(`${name}${i}`);
    await Promise.resolve();
  };
}

describe('compareInterleaved', () => {
  it('runs every index once per side, the sides taking turns and the first rotating each round', async () => {
    const log: string[] = [];
    const result = await compareInterleaved({ a: recorder(log, 'a'), b: recorder(log, 'b'), c: recorder(log, 'c') }, { ops: 6, rounds: 3 });
    expect(log).toEqual(['a0', 'a1', 'b0', 'b1', 'c0', 'c1', 'b2', 'b3', 'c2', 'c3', 'a2', 'a3', 'c4', 'c5', 'a4', 'a5', 'b4', 'b5']);
    expect(Object.keys(result)).toEqual(['a', 'b', 'c']);
    expect(result.a.ops).toBe(6);
    expect(result.a.roundOps).toEqual([2, 2, 2]);
    expect(result.b.roundMs).toHaveLength(3);
  });

  it('cuts calls that do not divide evenly into rounds that differ by one at most, and never runs an empty round', async () => {
    const a: number[] = [];
    const result = await compareInterleaved({ a: (i) => a.push(i) }, { ops: 7, rounds: 3 });
    expect(a).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.a.roundOps).toEqual([2, 2, 3]);
    const few = await compareInterleaved({ a: () => undefined }, { ops: 2, rounds: 10 });
    expect(few.a.roundOps).toEqual([1, 1]);
  });

  it('warms each side up first, on indices of its own or with functions of its own', async () => {
    const log: string[] = [];
    await compareInterleaved(
      { a: recorder(log, 'a'), b: recorder(log, 'b') },
      { ops: 2, rounds: 1, warmup: { calls: 2, from: 100, sides: { b: recorder(log, 'warm-b') } } },
    );
    expect(log).toEqual(['a100', 'a101', 'warm-b100', 'warm-b101', 'a0', 'a1', 'b0', 'b1']);
  });

  it('stops a warm-up at its time limit', async () => {
    let calls = 0;
    const slow = async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await compareInterleaved({ a: slow }, { ops: 1, warmup: { calls: 1000, maxMs: 50 } });
    expect(calls).toBeLessThan(10);
  });

  it('runs a round with several callers at once', async () => {
    let inFlight = 0;
    let most = 0;
    const call = async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
    };
    const result = await compareInterleaved({ a: call }, { ops: 40, rounds: 2, concurrency: 8 });
    expect(most).toBe(8);
    expect(result.a.ops).toBe(40);
  });

  // Which side is faster is a measurement: the benches show it beside their baselines. Here only
  // the shape of the result is checked, so the test does not depend on the machine's speed.
  it('reports every side with its calls, rounds and figures', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const result = await compareInterleaved({ slow: () => sleep(2), fast: () => sleep(1) }, { ops: 10, rounds: 5 });
    for (const side of [result.slow, result.fast]) {
      expect(side.ops).toBe(10);
      expect(side.opsPerSec).toBeGreaterThan(0);
      expect(side.p50).toBeGreaterThan(0);
    }
    expect(Number.isFinite(medianRoundRatio(result.slow, result.fast))).toBe(true);
  });

  it('calls a synchronous side without awaiting it, and leaves percentiles out when calls are not timed one by one', async () => {
    let calls = 0;
    const result = await compareInterleaved({ a: () => (calls += 1) }, { ops: 1000, timeCalls: false });
    expect(calls).toBe(1000);
    expect(result.a.opsPerSec).toBeGreaterThan(0);
    expect(result.a.p50).toBeNaN();
  });

  it('refuses counts that are not whole numbers', async () => {
    await expect(compareInterleaved({ a: () => undefined }, { ops: 1.5 })).rejects.toThrow(RangeError);
    await expect(compareInterleaved({ a: () => undefined }, { ops: 1, rounds: 0 })).rejects.toThrow(RangeError);
  });
});

describe('medianRoundRatio', () => {
  it('takes the median of the per-round time ratios', () => {
    const side = (roundMs: number[]) => ({ roundMs }) as SideMeasurement;
    expect(medianRoundRatio(side([2, 9, 3]), side([1, 3, 1]))).toBe(3);
    expect(() => medianRoundRatio(side([1]), side([1, 2]))).toThrow(RangeError);
  });
});
