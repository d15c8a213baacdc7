// Retries with exponential backoff and full jitter for errors that are worth retrying: a lost
// connection, a serialization failure or a deadlock. Everything else fails at once.

/** Retry settings (see CheckpointerOptions.retry). */
export interface RetrySettings {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

// SQLSTATEs worth another attempt: serialization failure, deadlock, connection exceptions (class 08),
// admin/crash shutdown and "cannot connect now", too many connections.
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '08007', '08P01']);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** True for errors a retry may cure (the operation did not, or may not, have taken effect). */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
  const message = (error as { message?: unknown }).message;
  // node-postgres reports a dropped socket without a code.
  return typeof message === 'string' && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** True for errors that mean the server could not be reached at all. */
export function isConnectionError(error: unknown): boolean {
  if (!isTransientError(error)) return false;
  const code = (error as { code?: unknown }).code;
  return code !== '40001' && code !== '40P01';
}

/** Delay before retry number `retry` (1-based): uniform in [0, min(max, initial * 2^(retry-1))]. */
export function backoffDelay(retry: number, settings: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, fails with a non-transient error, or `maxAttempts` is used
 * up. `onRetry` sees each transient failure before the wait. The attempt number (1-based) is passed
 * so idempotent writes can recognise their own earlier, possibly committed, attempt.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  settings: RetrySettings,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (error) {
      if (attempt >= settings.maxAttempts || !isTransientError(error)) throw new RetryExhausted(error, attempt);
      onRetry?.(error, attempt);
      const delay = backoffDelay(attempt, settings);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Internal carrier: the last error and how many attempts were made. */
export class RetryExhausted {
  constructor(
    readonly error: unknown,
    readonly attempts: number,
  ) {}
}
