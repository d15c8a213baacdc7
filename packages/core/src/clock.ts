// The time source of everything in Cairn that waits or expires, so a test can move time forward
// instead of sleeping through it.

/** Where Cairn reads the current time, in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The real clock (`Date.now`). */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests of timeouts, backoffs and expiry. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` (never back). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`A clock only moves forward (asked to move ${ms} ms)`);
    this.#now += ms;
  }
}
