import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@cairn/core';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('stays closed until the failures in a row reach the threshold', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 1_000 });
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess(); // a success resets the run
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('lets exactly one trial call through once the reset timeout has passed', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30, clock });
    breaker.recordFailure();
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(29);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
  });

  it('opens again when the trial call fails, and waits a full timeout before the next trial', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30, clock });
    breaker.recordFailure();
    clock.advance(40);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(29);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('opens at once when tripped, and reports every transition', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, resetTimeoutMs: 1_000 });
    const seen: [BreakerState, BreakerState][] = [];
    const stop = breaker.onTransition((from, to) => void seen.push([from, to]));
    breaker.trip();
    breaker.trip();
    breaker.recordSuccess();
    stop();
    breaker.trip();
    expect(seen).toEqual([
      ['closed', 'open'],
      ['open', 'closed'],
    ]);
  });
});
