// The base of every error Cairn raises. Callers branch on `instanceof` or on `code`, never on
// message text; each package adds a small family of its own on top of these.
import type { ZodType, z } from 'zod';

/** Facts attached to an error for the caller (ids, expected vs actual versions, ...). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * What kind of failure an error is, for callers that map failures rather than codes (an HTTP layer,
 * a retry loop): the caller's input was wrong, something is missing, a write lost a race, a
 * dependency is unreachable, the component was closed, or Cairn itself failed.
 */
export type ErrorCategory = 'invalid_input' | 'not_found' | 'conflict' | 'unavailable' | 'closed' | 'internal';

export interface CairnErrorOptions {
  cause?: unknown;
  details?: ErrorDetails;
  /** @defaultValue the class's own category, else 'internal' */
  category?: ErrorCategory;
}

/** Base class of every Cairn error. `code` is stable and machine-readable; `category` groups codes. */
export class CairnError extends Error {
  override readonly name: string = 'CairnError';
  readonly code: string;
  readonly category: ErrorCategory;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.category = options.category ?? 'internal';
    this.details = options.details ?? {};
  }
}

/**
 * The category of `error` when it is a Cairn error, else `fallback`: how a wrapper (a failed start,
 * an ingest stopped by a storage failure) inherits the kind of failure it wraps.
 */
export function categoryOf(error: unknown, fallback: ErrorCategory = 'internal'): ErrorCategory {
  return error instanceof CairnError ? error.category : fallback;
}

/** One problem found while validating input. `path` is the location inside the input. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Issues as one line for a message: `a.b: too long; c: required`. */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}

/** Input failed validation; `issues` lists every problem, not just the first. */
export class ValidationError extends CairnError {
  override readonly name: string = 'ValidationError';
  readonly issues: readonly ValidationIssue[];

  constructor(what: string, issues: readonly ValidationIssue[], options: CairnErrorOptions = {}) {
    super('VALIDATION_FAILED', `Invalid ${what}: ${formatIssues(issues)}`, {
      category: 'invalid_input',
      ...options,
      details: { ...options.details, issues },
    });
    this.issues = issues;
  }
}

/**
 * A filter (a rag metadata filter, an object store's `where` / `equals`, a checkpoint list's
 * metadata) is malformed, names a path outside the allowed pattern, or holds a value jsonb cannot
 * store; `issues` lists every problem with its path inside the filter. A ValidationError, so code
 * that handles bad input in general keeps working; code `INVALID_FILTER` tells the two apart.
 */
export class InvalidFilterError extends ValidationError {
  override readonly name = 'InvalidFilterError';
  override readonly code = 'INVALID_FILTER';

  constructor(issues: readonly ValidationIssue[], options: CairnErrorOptions = {}) {
    super('filter', issues, options);
  }
}

/** Converts zod issues to ValidationIssues with dotted paths (`pool.max`, `items[2].id`). */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join(''),
    message: issue.message,
  }));
}

/**
 * Parses `input` with `schema`, throwing a ValidationError naming `what` and every issue.
 * The one way Cairn packages validate their public inputs.
 */
export function parseInput<S extends ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(what, toValidationIssues(result.error), { cause: result.error });
  return result.data;
}

/**
 * A component was used after its close() (a checkpointer, an object store or its write-behind
 * queue, a Rag handle, a Cairn instance): create a new one. `component` names which.
 */
export class ClosedError extends CairnError {
  override readonly name = 'ClosedError';
  readonly component: string;
  constructor(component: string) {
    super('CLOSED', `The ${component} is closed`, { category: 'closed', details: { component } });
    this.component = component;
  }
}

/** A value could not be serialized (circular, a function, a symbol) or deserialized. */
export class SerializationError extends CairnError {
  override readonly name = 'SerializationError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('SERIALIZATION_FAILED', message, { category: 'invalid_input', ...options });
  }
}
