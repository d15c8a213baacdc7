// The errors @cairn/checkpointer raises. Callers branch on `instanceof` or `code`; each error
// carries the ids a caller needs to act on it. Validation and serialization errors come from core.
import { CairnError, type CairnErrorOptions } from '@cairn/core';

/** Base class of every error raised by @cairn/checkpointer (besides core's Validation/Serialization errors). */
export class CheckpointerError extends CairnError {
  override readonly name: string = 'CheckpointerError';
}

/** The checkpoint (or the parent a put named) does not exist in this tenant. */
export class CheckpointNotFoundError extends CheckpointerError {
  override readonly name = 'CheckpointNotFoundError';
  readonly threadId: string;
  readonly namespace: string;
  readonly checkpointId: string | undefined;

  constructor(threadId: string, namespace: string, checkpointId: string | undefined, options: CairnErrorOptions = {}) {
    const where = `thread ${JSON.stringify(threadId)}${namespace ? ` (namespace ${JSON.stringify(namespace)})` : ''}`;
    super('CHECKPOINT_NOT_FOUND', checkpointId === undefined ? `No checkpoint in ${where}` : `Checkpoint ${checkpointId} not found in ${where}`, {
      category: 'not_found',
      ...options,
      details: { threadId, namespace, checkpointId, ...options.details },
    });
    this.threadId = threadId;
    this.namespace = namespace;
    this.checkpointId = checkpointId;
  }
}

/**
 * A write lost a race or collided with existing data: an explicit checkpoint id that already
 * exists, a fork or import into a thread that is not empty, or `expectedLatestId` that no longer
 * matches the thread's latest checkpoint.
 */
export class ConflictError extends CheckpointerError {
  override readonly name = 'ConflictError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('CONFLICT', message, { category: 'conflict', ...options });
  }
}

// Storage failures are core's StorageError / StorageUnavailableError, shared by every package.
export { StorageError, StorageUnavailableError, ClosedError } from '@cairn/core';


/** An import stream is not a valid Cairn checkpoint export (see `details.line`). */
export class ImportFormatError extends CheckpointerError {
  override readonly name = 'ImportFormatError';
  readonly line: number;
  constructor(line: number, message: string, options: CairnErrorOptions = {}) {
    super('IMPORT_FORMAT_INVALID', `Line ${line}: ${message}`, { category: 'invalid_input', ...options, details: { line, ...options.details } });
    this.line = line;
  }
}
