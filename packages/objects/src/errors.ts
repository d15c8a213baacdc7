// Errors raised by @cairn/objects. Each carries a stable `code` and the facts a caller needs to act
// (object type and id, expected vs actual version, the failing path); callers branch on
// `instanceof` or `code`, never on message text.
import { CairnError, type CairnErrorOptions, type ValidationIssue } from '@cairn/core';

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
      { ...options, details: { ...facts, ...options.details } },
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
      { details: { type, id, ...(version === undefined ? {} : { version }) } },
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
      `Stored ${facts.type} ${JSON.stringify(facts.id)} (version ${facts.version}) does not match its schema: ${facts.issues
        .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
        .join('; ')}`,
      { ...options, details: { ...facts, path, ...options.details } },
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
    super(options.code ?? 'PATCH_INVALID', message, { ...options, details: { ...facts, ...options.details } });
    this.operationIndex = facts.operationIndex;
  }
}

/** A `test` operation of a JSON Patch did not hold. Nothing was written. */
export class PatchTestFailedError extends InvalidPatchError {
  override readonly name = 'PatchTestFailedError';
  constructor(message: string, facts: { type: string; id: string; operationIndex?: number }, options: CairnErrorOptions = {}) {
    super(message, facts, { ...options, code: 'PATCH_TEST_FAILED' });
  }
}

/** The store (or its write-behind queue) is closed; no more writes are accepted. */
export class StoreClosedError extends ObjectsError {
  override readonly name = 'StoreClosedError';
  constructor(what = 'object store') {
    super('STORE_CLOSED', `The ${what} is closed`);
  }
}

/** The write-behind queue is full and the store was configured with `whenFull: 'reject'`. */
export class WriteQueueFullError extends ObjectsError {
  override readonly name = 'WriteQueueFullError';
  constructor(maxPending: number) {
    super('WRITE_QUEUE_FULL', `The write-behind queue holds its maximum of ${maxPending} pending writes`, { details: { maxPending } });
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

/**
 * A batch of write-behind writes failed. `dropped` is false while the batch will be retried, true
 * when the writes were given up (after `maxAttempts`) and are lost.
 */
export class WriteBehindError extends ObjectsError {
  override readonly name = 'WriteBehindError';
  readonly writes: readonly QueuedWriteInfo[];
  readonly attempt: number;
  readonly dropped: boolean;

  constructor(facts: { writes: readonly QueuedWriteInfo[]; attempt: number; dropped: boolean }, options: CairnErrorOptions = {}) {
    const first = facts.writes[0]?.sequence;
    const last = facts.writes.at(-1)?.sequence;
    super(
      facts.dropped ? 'WRITE_BEHIND_DROPPED' : 'WRITE_BEHIND_FAILED',
      `${facts.dropped ? 'Gave up on' : 'Failed to persist'} ${facts.writes.length} queued write(s) #${first}..#${last} (attempt ${facts.attempt})`,
      { ...options, details: { ...facts, ...options.details } },
    );
    this.writes = facts.writes;
    this.attempt = facts.attempt;
    this.dropped = facts.dropped;
  }
}

/** close() or flush() gave up waiting for the write-behind queue; `pending` writes were not persisted. */
export class FlushTimeoutError extends ObjectsError {
  override readonly name = 'FlushTimeoutError';
  readonly pending: number;
  constructor(pending: number, timeoutMs: number) {
    super('FLUSH_TIMEOUT', `${pending} queued write(s) were not persisted within ${timeoutMs} ms`, { details: { pending, timeoutMs } });
    this.pending = pending;
  }
}

/** importSnapshot() found an object that already exists (with `onConflict: 'error'`). Nothing was imported. */
export class SnapshotConflictError extends ObjectsError {
  override readonly name = 'SnapshotConflictError';
  constructor(type: string, id: string) {
    super('SNAPSHOT_CONFLICT', `${type} ${JSON.stringify(id)} already exists in the target tenant`, { details: { type, id } });
  }
}

/** The session does not exist in this tenant, or has expired. */
export class SessionNotFoundError extends ObjectsError {
  override readonly name = 'SessionNotFoundError';
  readonly sessionId: string;
  constructor(sessionId: string) {
    super('SESSION_NOT_FOUND', `Session ${JSON.stringify(sessionId)} does not exist or has expired`, { details: { sessionId } });
    this.sessionId = sessionId;
  }
}

/** The thread does not exist in this tenant. */
export class ThreadNotFoundError extends ObjectsError {
  override readonly name = 'ThreadNotFoundError';
  readonly threadId: string;
  constructor(threadId: string) {
    super('THREAD_NOT_FOUND', `Thread ${JSON.stringify(threadId)} does not exist`, { details: { threadId } });
    this.threadId = threadId;
  }
}

/** A session or thread with this id already exists in this tenant. */
export class DuplicateIdError extends ObjectsError {
  override readonly name = 'DuplicateIdError';
  constructor(what: 'session' | 'thread', id: string, options: CairnErrorOptions = {}) {
    super('DUPLICATE_ID', `A ${what} with id ${JSON.stringify(id)} already exists`, { ...options, details: { what, id } });
  }
}
