// A circuit breaker so that, while Redis is down, calls fail at once instead of each paying a
// connect or command timeout. closed → (N consecutive failures) → open → (reset timeout) →
// half-open: one trial call; success closes it, failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  resetTimeoutMs: number;
}

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #options: BreakerOptions;
  readonly #listeners = new Set<(from: BreakerState, to: BreakerState) => void>();

  constructor(options: BreakerOptions) {
    this.#options = options;
  }

  get state(): BreakerState {
    if (this.#state === 'open' && Date.now() - this.#openedAt >= this.#options.resetTimeoutMs) return 'half-open';
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

  recordSuccess(): void {
    this.#trialInFlight = false;
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  recordFailure(): void {
    this.#trialInFlight = false;
    this.#failures += 1;
    if (this.#state === 'closed' && this.#failures < this.#options.failureThreshold) return;
    this.#openedAt = Date.now();
    if (this.#state !== 'open') this.#transition('open');
  }

  /** Opens the breaker at once (the connection reported it is down). */
  trip(): void {
    this.#failures = this.#options.failureThreshold;
    this.#openedAt = Date.now();
    if (this.#state !== 'open') this.#transition('open');
  }

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
