// The one retry policy of Cairn: exponential backoff with full jitter, for errors a retry may cure
// (a lost connection, an admin shutdown, a serialization failure, a deadlock, too many
// connections). Everything else is permanent and fails at once. Every package that talks to
// PostgreSQL or an external service retries through withRetry and classifies through
// isTransientError, so "what is worth another attempt" is decided in one place.
import { z } from 'zod';

/** Retry settings; the schema carries the defaults every package shares. */
export const RetrySettingsSchema = z
  .object({
    /** Attempts in all, first included; 1 disables retries. @defaultValue 4 */
    maxAttempts: z.number().int().min(1).max(20).default(4),
    /** Delay before the first retry, in ms (doubles each time, full jitter). @defaultValue 25 */
    initialDelayMs: z.number().min(0).default(25),
    /** Ceiling of one delay, in ms. @defaultValue 1000 */
    maxDelayMs: z.number().min(0).default(1000),
  })
  .strict();

/** Resolved retry settings. */
export type RetrySettings = z.output<typeof RetrySettingsSchema>;
/** Retry settings as callers give them (every field optional). */
export type RetryOptions = z.input<typeof RetrySettingsSchema>;

/** The shared defaults: 4 attempts, 25 ms doubling to at most 1 s. */
export const DEFAULT_RETRY: RetrySettings = Object.freeze(RetrySettingsSchema.parse({}));

// SQLSTATEs worth another attempt: serialization failure, deadlock, connection exceptions (class 08),
// admin/crash shutdown and "cannot connect now", too many connections, and a read-only transaction
// (25006: connected to a server that a failover just made a standby; a new connection finds the primary).
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '08007', '08P01', '25006']);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTCONN', 'ECONNABORTED']);
// node-postgres reports a dropped socket or an exhausted pool without a code.
const TRANSIENT_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/i;

/** Marks an error as transient (a retry may cure it) or permanent, overriding the classification. */
export const TRANSIENT = Symbol.for('cairn.transient');

/** True for errors a retry may cure (the operation did not, or may not, have taken effect). */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const flagged = (error as { [TRANSIENT]?: unknown })[TRANSIENT];
  if (typeof flagged === 'boolean') return flagged;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && TRANSIENT_MESSAGE.test(message);
}

/** True for transient errors that mean the server could not be reached (not a lost race). */
export function isConnectionError(error: unknown): boolean {
  if (!isTransientError(error)) return false;
  const code = (error as { code?: unknown }).code;
  return code !== '40001' && code !== '40P01';
}

/** The part of RetrySettings that decides how long to wait. */
export type BackoffSettings = Pick<RetrySettings, 'initialDelayMs' | 'maxDelayMs'>;

/**
 * Delay before retry number `retry` (1-based): uniform in [0, min(max, initial * 2^(retry-1))].
 * The exponent stops at 29, where every ceiling in the settings' range is reached, so a loop that
 * retries without end never computes 0 × ∞ (NaN) for an initialDelayMs of 0.
 */
export function backoffDelay(retry: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (Math.min(retry, 30) - 1));
  return Math.round(random() * ceiling);
}

/**
 * The delays of the retry policy, for a loop that decides on its own when to stop and how to wait
 * (the write-behind queue retries a batch past maxAttempts, in a sleep close() can cut short);
 * withRetry waits the same delays.
 */
export class BackoffSchedule {
  readonly #settings: BackoffSettings;
  readonly #random: () => number;

  /** `random` draws the jitter, uniform in [0, 1). @defaultValue Math.random */
  constructor(settings: BackoffSettings, random: () => number = Math.random) {
    this.#settings = { initialDelayMs: settings.initialDelayMs, maxDelayMs: settings.maxDelayMs };
    this.#random = random;
  }

  /** Milliseconds to wait before retry number `retry` (1-based: the wait after the first failure). */
  delayBeforeRetry(retry: number): number {
    return backoffDelay(retry, this.#settings, this.#random);
  }
}

/** Hooks of withRetry. */
export interface RetryHooks {
  /** Sees each transient failure before the wait. */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Decides what is transient. @defaultValue isTransientError */
  isTransient?: (error: unknown) => boolean;
  /** How a delay is waited (tests pass a fake clock). @defaultValue setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation` until it succeeds, fails with a permanent error, or `maxAttempts` is used up;
 * then throws a RetryExhausted carrying the last error and the attempt count. The attempt number
 * (1-based) is passed so idempotent writes can recognise their own earlier, possibly committed,
 * attempt.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  settings: RetrySettings,
  hooks: RetryHooks | ((error: unknown, attempt: number) => void) = {},
): Promise<{ value: T; attempts: number }> {
  const { onRetry, isTransient = isTransientError, sleep: wait = sleep } = typeof hooks === 'function' ? { onRetry: hooks } : hooks;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (error) {
      if (attempt >= settings.maxAttempts || !isTransient(error)) throw new RetryExhausted(error, attempt);
      onRetry?.(error, attempt);
      const delay = backoffDelay(attempt, settings);
      if (delay > 0) await wait(delay);
    }
  }
}

/**
 * What withRetry throws: the last error (also as `cause`) and how many attempts were made. Callers
 * unwrap it; it is an Error so that one which escapes still carries a stack and its cause.
 */
export class RetryExhausted extends Error {
  override readonly name = 'RetryExhausted';

  constructor(
    readonly error: unknown,
    readonly attempts: number,
  ) {
    super(`gave up after ${attempts} attempt(s)`, { cause: error });
  }
}
