import { describe, expect, it } from '@jest/globals';
import { median, percentile, summarize } from './statistics.js';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('takes the nearest rank without interpolating', () => {
    expect(percentile(hundred, 50)).toBe(51);
    expect(percentile(hundred, 99)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([1, 2, 3], 50)).toBe(2);
  });

  it('caps at the largest value', () => {
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('refuses no values and a percentile outside 0 to 100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('sorts a copy and takes the upper middle value of an even count', () => {
    const values = [4, 1, 3, 2];
    expect(median(values)).toBe(3);
    expect(values).toEqual([4, 1, 3, 2]);
    expect(median([5, 1, 9])).toBe(5);
  });
});

describe('summarize', () => {
  it('gives throughput over wall time and latency percentiles per call', () => {
    const figures = summarize([3, 1, 2, 4], 20);
    expect(figures).toEqual({ ops: 4, ms: 20, opsPerSec: 200, p50: 3, p99: 4 });
  });

  it('gives NaN percentiles when calls were not timed one by one', () => {
    const figures = summarize([], 50, 10);
    expect(figures.opsPerSec).toBe(200);
    expect(figures.p50).toBeNaN();
    expect(figures.p99).toBeNaN();
  });
});
