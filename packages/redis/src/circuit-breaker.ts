// A circuit breaker so that, while Redis is down, calls fail at once instead of each paying a
// connect or command timeout. closed → (N consecutive failures) → open → (reset timeout) →
// half-open: one trial call; success closes it, failure opens it again.
import { z } from 'zod';
import { systemClock, type Clock } from '@cairn/core';

/** closed: calls go through; open: they fail fast; half-open: one trial call may go through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A breaker's thresholds, as createRedis() takes them (`breaker`). */
export const BreakerSettingsSchema = z
  .object({
    /** Consecutive failures that open the breaker. @defaultValue 3 */
    failureThreshold: z.number().int().min(1).default(3),
    /** Milliseconds the breaker stays open before it lets a trial call through. @defaultValue 2000 */
    resetTimeoutMs: z.number().int().min(10).default(2_000),
  })
  .strict();
/** Settings of a CircuitBreaker: the thresholds, resolved, and the clock. */
export type BreakerOptions = z.output<typeof BreakerSettingsSchema> & {
  /** Where the reset timeout reads the time. @defaultValue core's systemClock */
  clock?: Clock;
};

/** A consecutive-failure circuit breaker; RedisConnection owns one (`redis.breaker`). */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #options: BreakerOptions;
  readonly #clock: Clock;
  readonly #listeners = new Set<(from: BreakerState, to: BreakerState) => void>();

  constructor(options: BreakerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The current state; an open breaker reads as half-open once its reset timeout has passed. */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#clock.now() - this.#openedAt >= this.#options.resetTimeoutMs) return 'half-open';
    return this.#state;
  }

  /** Whether a call may go to Redis now. In half-open, only one trial call at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  /** A call succeeded: closes the breaker (from half-open) and resets the failure run. */
  recordSuccess(): void {
    this.#trialInFlight = false;
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  /** A call failed: opens the breaker at the threshold, or again after a failed trial. */
  recordFailure(): void {
    this.#trialInFlight = false;
    this.#failures += 1;
    if (this.#state === 'closed' && this.#failures < this.#options.failureThreshold) return;
    this.#openedAt = this.#clock.now();
    if (this.#state !== 'open') this.#transition('open');
  }

  /** Opens the breaker at once (the connection reported it is down). */
  trip(): void {
    this.#failures = this.#options.failureThreshold;
    this.#openedAt = this.#clock.now();
    if (this.#state !== 'open') this.#transition('open');
  }

  /** Calls `listener` on every change between closed and open; returns the unsubscribe function. */
  onTransition(listener: (from: BreakerState, to: BreakerState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    for (const listener of this.#listeners) listener(from, to);
  }
}
