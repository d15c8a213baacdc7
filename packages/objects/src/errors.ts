// Errors raised by @cairn/objects. Each carries a stable `code` and the facts a caller needs to act
// (object type and id, expected vs actual version, the failing path); callers branch on
// `instanceof` or `code`, never on message text.
import { CairnError, categoryOf, formatIssues, type CairnErrorOptions, type ValidationIssue } from '@cairn/core';

/** Base class of every @cairn/objects error. */
export class ObjectsError extends CairnError {
  override readonly name: string = 'ObjectsError';
}

/**
 * A write was refused because the object's version is not the one the caller expected. Nothing was
 * written. `actualVersion` is 0 when the object does not exist.
 */
export class VersionConflictError extends ObjectsError {
  override readonly name = 'VersionConflictError';
  readonly type: string;
  readonly id: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(facts: { type: string; id: string; expectedVersion: number; actualVersion: number; attempts?: number }, options: CairnErrorOptions = {}) {
    const attempts = facts.attempts === undefined ? '' : ` after ${facts.attempts} attempts`;
    super(
      'VERSION_CONFLICT',
      `${facts.type} ${JSON.stringify(facts.id)}: expected version ${facts.expectedVersion}, found ${facts.actualVersion === 0 ? 'no object' : `version ${facts.actualVersion}`}${attempts}`,
      { category: 'conflict', ...options, details: { ...facts, ...options.details } },
    );
    this.type = facts.type;
    this.id = facts.id;
    this.expectedVersion = facts.expectedVersion;
    this.actualVersion = facts.actualVersion;
  }
}

/** The object (or the requested version of it) does not exist in this tenant. */
export class ObjectNotFoundError extends ObjectsError {
  override readonly name = 'ObjectNotFoundError';
  readonly type: string;
  readonly id: string;
  readonly version: number | undefined;

  constructor(type: string, id: string, version?: number) {
    super(
      'OBJECT_NOT_FOUND',
      version === undefined ? `${type} ${JSON.stringify(id)} does not exist` : `${type} ${JSON.stringify(id)} has no version ${version}`,
      { category: 'not_found', details: { type, id, ...(version === undefined ? {} : { version }) } },
    );
    this.type = type;
    this.id = id;
    this.version = version;
  }
}

/**
 * A stored row no longer matches its collection's schema (the schema changed, or the row was edited
 * outside Cairn). Raised on read instead of returning a silently wrong object.
 */
export class StoredObjectInvalidError extends ObjectsError {
  override readonly name = 'StoredObjectInvalidError';
  readonly type: string;
  readonly id: string;
  readonly version: number;
  /** The first failing path inside the object's data (`address.city`, `tags[2]`); '' for the root. */
  readonly path: string;
  readonly issues: readonly ValidationIssue[];

  constructor(facts: { type: string; id: string; version: number; issues: readonly ValidationIssue[] }, options: CairnErrorOptions = {}) {
    const path = facts.issues[0]?.path ?? '';
    super(
      'STORED_OBJECT_INVALID',
      `Stored ${facts.type} ${JSON.stringify(facts.id)} (version ${facts.version}) does not match its schema: ${formatIssues(facts.issues)}`,
      { category: 'internal', ...options, details: { ...facts, path, ...options.details } },
    );
    this.type = facts.type;
    this.id = facts.id;
    this.version = facts.version;
    this.path = path;
    this.issues = facts.issues;
  }
}

/** A JSON Patch is malformed or cannot be applied to the object (bad path, missing member). Nothing was written. */
export class InvalidPatchError extends ObjectsError {
  override readonly name: string = 'InvalidPatchError';
  /** Index of the failing operation in the patch. */
  readonly operationIndex: number | undefined;

  constructor(message: string, facts: { type: string; id: string; operationIndex?: number }, options: CairnErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'PATCH_INVALID', message, { category: 'invalid_input', ...options, details: { ...facts, ...options.details } });
    this.operationIndex = facts.operationIndex;
  }
}

/** A `test` operation of a JSON Patch did not hold. Nothing was written. */
export class PatchTestFailedError extends InvalidPatchError {
  override readonly name = 'PatchTestFailedError';
  constructor(message: string, facts: { type: string; id: string; operationIndex?: number }, options: CairnErrorOptions = {}) {
    super(message, facts, { category: 'conflict', ...options, code: 'PATCH_TEST_FAILED' });
  }
}

/** The write-behind queue is full and the store was configured with `whenFull: 'reject'`. */
export class WriteQueueFullError extends ObjectsError {
  override readonly name = 'WriteQueueFullError';
  constructor(maxPending: number) {
    super('WRITE_QUEUE_FULL', `The write-behind queue holds its maximum of ${maxPending} pending writes`, { category: 'unavailable', details: { maxPending } });
  }
}

/** One queued write, as reported to `onError`. */
export interface QueuedWriteInfo {
  readonly sequence: number;
  readonly kind: 'save' | 'delete';
  readonly tenantId: string;
  readonly type: string;
  readonly id: string;
}

function describeWrite(write: QueuedWriteInfo): string {
  return `${write.kind === 'delete' ? 'delete of ' : ''}${write.type} ${JSON.stringify(write.id)} #${write.sequence}`;
}

/**
 * A batch of write-behind writes failed and was rolled back (code WRITE_BEHIND_FAILED); `cause` is
 * the error. `transient` (a retry may cure it): the batch is retried with backoff. Permanent: the
 * writes PostgreSQL refuses are found and moved to the dead letters (WriteDeadLetteredError), the
 * others persisted in order; a permanent error is never retried as a batch.
 */
export class WriteBehindError extends ObjectsError {
  override readonly name: string = 'WriteBehindError';
  readonly writes: readonly QueuedWriteInfo[];
  /** The batch's attempt that failed (1 for the first). */
  readonly attempt: number;
  readonly transient: boolean;

  constructor(facts: { writes: readonly QueuedWriteInfo[]; attempt: number; transient: boolean }, options: CairnErrorOptions & { code?: string; message?: string } = {}) {
    const first = facts.writes[0]?.sequence;
    const last = facts.writes.at(-1)?.sequence;
    super(
      options.code ?? 'WRITE_BEHIND_FAILED',
      options.message ??
        `Failed to persist ${facts.writes.length} queued write(s) #${first}..#${last} (attempt ${facts.attempt}, ${facts.transient ? 'transient: retrying' : 'permanent: isolating the bad writes'})`,
      { category: facts.transient ? 'unavailable' : categoryOf(options.cause), ...options, details: { ...facts, ...options.details } },
    );
    this.writes = facts.writes;
    this.attempt = facts.attempt;
    this.transient = facts.transient;
  }
}

/**
 * A write-behind write was moved to `write_behind_dead_letters` (row `deadLetterId`) instead of
 * being persisted: PostgreSQL refused it with a permanent error, or it still failed after
 * `maxAttempts`. The writes queued after it went on. Reported to `onError`, and what the write's
 * `persisted()` rejects with. `store.deadLetters()` lists, replays and discards dead letters.
 */
export class WriteDeadLetteredError extends WriteBehindError {
  override readonly name = 'WriteDeadLetteredError';
  readonly deadLetterId: string;
  /** The SQLSTATE (or driver error code) of the failure, as stored in `error_code`. */
  readonly sqlstate: string | null;
  /** Times the write was sent to PostgreSQL. */
  readonly attempts: number;

  constructor(facts: { write: QueuedWriteInfo; deadLetterId: string; sqlstate: string | null; attempts: number; transient: boolean }, options: CairnErrorOptions = {}) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      { writes: [facts.write], attempt: facts.attempts, transient: facts.transient },
      {
        ...options,
        code: 'WRITE_BEHIND_DEAD_LETTERED',
        message: `Queued write ${describeWrite(facts.write)} was moved to the dead letters (id ${facts.deadLetterId}) after ${facts.attempts} attempt(s)${reason}`,
        details: { deadLetterId: facts.deadLetterId, sqlstate: facts.sqlstate, attempts: facts.attempts },
      },
    );
    this.deadLetterId = facts.deadLetterId;
    this.sqlstate = facts.sqlstate;
    this.attempts = facts.attempts;
  }
}

/** No dead letter with this id exists in this tenant (replayed or discarded already, or another tenant's). */
export class DeadLetterNotFoundError extends ObjectsError {
  override readonly name = 'DeadLetterNotFoundError';
  readonly deadLetterId: string;
  constructor(deadLetterId: string) {
    super('DEAD_LETTER_NOT_FOUND', `Dead letter ${deadLetterId} does not exist in this tenant`, { category: 'not_found', details: { deadLetterId } });
    this.deadLetterId = deadLetterId;
  }
}

/**
 * close() gave up waiting for the write-behind queue: `writes` (`pending` of them) were neither
 * persisted nor dead-lettered, and are lost to this process. `cause` is the last failure the queue
 * saw, if any (none: the batch in flight was still running).
 */
export class FlushTimeoutError extends ObjectsError {
  override readonly name = 'FlushTimeoutError';
  readonly pending: number;
  readonly writes: readonly QueuedWriteInfo[];
  constructor(pending: number, timeoutMs: number, writes: readonly QueuedWriteInfo[] = [], options: CairnErrorOptions = {}) {
    const listed = writes.slice(0, 10).map(describeWrite).join(', ');
    const more = writes.length > 10 ? ` and ${writes.length - 10} more` : '';
    const reason = options.cause instanceof Error ? `; last failure: ${options.cause.message}` : writes.length > 0 ? '; no failure reported (the batch in flight had not finished)' : '';
    super('FLUSH_TIMEOUT', `${pending} queued write(s) were not persisted within ${timeoutMs} ms${listed ? `: ${listed}${more}` : ''}${reason}`, {
      category: 'unavailable',
      ...options,
      details: { pending, timeoutMs, writes },
    });
    this.pending = pending;
    this.writes = writes;
  }
}

/** importSnapshot() found an object that already exists (with `onConflict: 'error'`). Nothing was imported. */
export class SnapshotConflictError extends ObjectsError {
  override readonly name = 'SnapshotConflictError';
  constructor(type: string, id: string) {
    super('SNAPSHOT_CONFLICT', `${type} ${JSON.stringify(id)} already exists in the target tenant`, { category: 'conflict', details: { type, id } });
  }
}

/** The session does not exist in this tenant, or has expired. */
export class SessionNotFoundError extends ObjectsError {
  override readonly name = 'SessionNotFoundError';
  readonly sessionId: string;
  constructor(sessionId: string) {
    super('SESSION_NOT_FOUND', `Session ${JSON.stringify(sessionId)} does not exist or has expired`, { category: 'not_found', details: { sessionId } });
    this.sessionId = sessionId;
  }
}

/** The thread does not exist in this tenant. */
export class ThreadNotFoundError extends ObjectsError {
  override readonly name = 'ThreadNotFoundError';
  readonly threadId: string;
  constructor(threadId: string) {
    super('THREAD_NOT_FOUND', `Thread ${JSON.stringify(threadId)} does not exist`, { category: 'not_found', details: { threadId } });
    this.threadId = threadId;
  }
}

/** The message is not in this thread (or the thread does not exist in this tenant). */
export class MessageNotFoundError extends ObjectsError {
  override readonly name = 'MessageNotFoundError';
  readonly threadId: string;
  readonly messageId: string;
  constructor(threadId: string, messageId: string) {
    super('MESSAGE_NOT_FOUND', `Message ${JSON.stringify(messageId)} is not in thread ${JSON.stringify(threadId)}`, { category: 'not_found', details: { threadId, messageId } });
    this.threadId = threadId;
    this.messageId = messageId;
  }
}

/** A session or thread with this id already exists in this tenant. */
export class DuplicateIdError extends ObjectsError {
  override readonly name = 'DuplicateIdError';
  constructor(what: 'session' | 'thread', id: string, options: CairnErrorOptions = {}) {
    super('DUPLICATE_ID', `A ${what} with id ${JSON.stringify(id)} already exists`, { category: 'conflict', ...options, details: { what, id } });
  }
}
