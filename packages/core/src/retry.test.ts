import { describe, expect, it } from '@jest/globals';
import { BackoffSchedule, RetryExhausted, backoffDelay, isTransientError, withRetry } from './retry.js';

const settings = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 };

describe('retries', () => {
  it('treats lost connections, serialization failures and deadlocks as transient', () => {
    for (const code of ['40001', '40P01', '57P01', '08006', 'ECONNRESET', 'ECONNREFUSED']) expect(isTransientError({ code })).toBe(true);
    expect(isTransientError(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['23505', '22P02', '42P01']) expect(isTransientError({ code })).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(1, { ...settings, initialDelayMs: 100, maxDelayMs: 1000 }, () => 1)).toBe(100);
    expect(backoffDelay(3, { ...settings, initialDelayMs: 100, maxDelayMs: 1000 }, () => 1)).toBe(400);
    expect(backoffDelay(10, { ...settings, initialDelayMs: 100, maxDelayMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelay(3, { ...settings, initialDelayMs: 100, maxDelayMs: 1000 }, () => 0)).toBe(0);
  });

  it('schedules the same delays for a loop that retries on its own terms, without end', () => {
    const schedule = new BackoffSchedule({ initialDelayMs: 100, maxDelayMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5, 1000].map((retry) => schedule.delayBeforeRetry(retry))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(new BackoffSchedule({ initialDelayMs: 0, maxDelayMs: 1000 }, () => 1).delayBeforeRetry(5000)).toBe(0);
  });

  it('retries transient errors until success and reports the attempt', async () => {
    let calls = 0;
    const retried: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        calls += 1;
        if (attempt < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return 'ok';
      },
      settings,
      (_e, attempt) => retried.push(attempt),
    );
    expect(result).toEqual({ value: 'ok', attempts: 3 });
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('fails at once on other errors and after the last attempt', async () => {
    const permanent = await withRetry(async () => Promise.reject(Object.assign(new Error('dup'), { code: '23505' })), settings).catch((e: unknown) => e);
    expect(permanent).toBeInstanceOf(RetryExhausted);
    expect((permanent as RetryExhausted).attempts).toBe(1);
    const transient = await withRetry(async () => Promise.reject(Object.assign(new Error('dead'), { code: '40P01' })), settings).catch((e: unknown) => e);
    expect((transient as RetryExhausted).attempts).toBe(4);
  });
});
