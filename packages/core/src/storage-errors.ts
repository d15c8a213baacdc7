// The typed errors every package raises for a failure of PostgreSQL (or another store) that is not
// the caller's input, and the one mapping from a driver error to them. A driver error never
// reaches a caller raw: it becomes a StorageUnavailableError (could not reach the server, after
// the retries) or a StorageError, with the SQLSTATE in `details.sqlstate` and the driver error as
// `cause`.
import { CairnError, type CairnErrorOptions, type ErrorDetails } from './errors.js';
import { isConnectionError } from './retry.js';

/** The storage failed for a reason that is not the caller's input (see `cause` and `details.sqlstate`). */
export class StorageError extends CairnError {
  override readonly name: string = 'StorageError';
  constructor(message: string, options: CairnErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'STORAGE_FAILED', message, { category: 'internal', ...options });
  }
}

/**
 * The storage could not be reached (connection refused or lost, server shutting down, pool
 * exhausted) and the retries were used up. A write that failed so did not take effect, except when
 * `details.commitOutcomeUnknown` is true: the connection went while the write (or its COMMIT) was in
 * flight, so it may have committed; read before writing again.
 */
export class StorageUnavailableError extends StorageError {
  override readonly name = 'StorageUnavailableError';
  readonly attempts: number;
  constructor(message: string, options: CairnErrorOptions & { attempts?: number } = {}) {
    super(message, { ...options, code: 'STORAGE_UNAVAILABLE', category: 'unavailable', details: { attempts: options.attempts ?? 1, ...options.details } });
    this.attempts = options.attempts ?? 1;
  }
}

/** The SQLSTATE (or Node.js error code) of a driver error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Where a mapped error came from, for its message. */
export interface StorageErrorContext {
  /** Attempts made (withRetry's count). @defaultValue 1 */
  attempts?: number;
  /** What was being done, e.g. `object save`. */
  operation?: string;
  /** The command users run to apply Cairn's migrations, named when tables are missing. */
  migrateHint?: string;
  /** More facts for `details`. */
  details?: ErrorDetails;
}

// SQLSTATEs that mean the database refused a value it was given, not that it failed: a NUL in text
// (22P05, 22021), JSON it cannot parse (22P02), a value too long for its column or index (22001,
// 54000). Core's input rules refuse these before they are sent; one that still slips through is
// the caller's input, not an outage.
const INPUT_SQLSTATES = new Set(['22P05', '22021', '22P02', '22001', '54000']);

/**
 * How a user of the installed packages applies Cairn's migrations, for every message that finds
 * them missing: the CLI of @cairn/cairn first, then the in-process ways.
 */
export const MIGRATE_HINT =
  '`npx cairn migrate deploy` (the CLI of @cairn/cairn; `--url`, else DIRECT_DATABASE_URL or DATABASE_URL), or `migrate: true` in createCairn({ db }) / createDb(), or `migrateDatabase(url)` from @cairn/db';

/**
 * Maps any error to a Cairn error: Cairn errors pass through; connection failures become
 * StorageUnavailableError; missing tables SCHEMA_MISSING; every other driver error a StorageError
 * whose `details.sqlstate` is its SQLSTATE. Packages map the codes that mean something to them
 * (23505 as a conflict, say) before calling this.
 */
export function toStorageError(error: unknown, context: StorageErrorContext = {}): CairnError {
  if (error instanceof CairnError) return error;
  const attempts = context.attempts ?? 1;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const what = context.operation ? ` during ${context.operation}` : '';
  const details = { sqlstate: code ?? null, ...(context.operation ? { operation: context.operation } : {}), ...context.details };
  // 3D000: the database itself is gone (dropped, or the URL names another one).
  if (isConnectionError(error) || code === '3D000' || /pool after calling end|Cannot use a pool/i.test(message)) {
    return new StorageUnavailableError(`PostgreSQL is unavailable${what}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}: ${message}`, {
      cause: error,
      attempts,
      details,
    });
  }
  if (code === '42P01') {
    return new StorageError(`Cairn's tables are missing${what}: apply the migrations (${context.migrateHint ?? MIGRATE_HINT}). ${message}`, {
      cause: error,
      code: 'SCHEMA_MISSING',
      details,
    });
  }
  if (code !== undefined && INPUT_SQLSTATES.has(code)) {
    return new StorageError(`PostgreSQL refused a value${what} (${code}): ${message}`, { cause: error, details, code: 'INPUT_REJECTED', category: 'invalid_input' });
  }
  return new StorageError(`PostgreSQL error${code ? ` ${code}` : ''}${what}: ${message}`, { cause: error, details });
}
