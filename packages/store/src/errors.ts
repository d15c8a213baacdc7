// The errors @cairn/store raises besides core's (ValidationError for bad input, InvalidFilterError
// for a bad filter, ClosedError after close()) and LangGraph's InvalidNamespaceError, which the
// BaseStore methods throw before a call reaches the store and batch() throws for the same labels.
import { CairnError, type CairnErrorOptions } from '@cairn/core';

/** Base class of the errors @cairn/store raises itself. */
export class StoreError extends CairnError {
  override readonly name: string = 'StoreError';
}

/**
 * The embedder failed, or answered with something that is not `count` vectors of the configured
 * dimension with finite, not all zero components (`EMBEDDING_FAILED`, `EMBEDDING_INVALID`).
 */
export class EmbeddingError extends StoreError {
  override readonly name = 'EmbeddingError';
  constructor(code: 'EMBEDDING_FAILED' | 'EMBEDDING_INVALID', message: string, options: CairnErrorOptions = {}) {
    super(code, message, { category: code === 'EMBEDDING_FAILED' ? 'unavailable' : 'internal', ...options });
  }
}
