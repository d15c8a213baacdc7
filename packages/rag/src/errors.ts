// The errors @cairn/rag raises. Callers branch on `instanceof` or `code`; every error carries the
// facts needed to act on it (expected vs actual dimension, the offending ids, the HTTP status).
import { CairnError, type CairnErrorOptions, type ValidationIssue } from '@cairn/core';

/** Base class of every @cairn/rag error. */
export class RagError extends CairnError {
  override readonly name: string = 'RagError';
}

/**
 * A vector's length differs from what the collection or the database column expects. When the
 * column itself has another size, the message says how to change it (a migration).
 */
export class DimensionMismatchError extends RagError {
  override readonly name = 'DimensionMismatchError';
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, message: string, options: CairnErrorOptions = {}) {
    super('DIMENSION_MISMATCH', message, { ...options, details: { ...options.details, expected, actual } });
    this.expected = expected;
    this.actual = actual;
  }
}

/** A vector holds NaN, ±Infinity, a value outside float4's range, or (for cosine) only zeros. */
export class InvalidVectorError extends RagError {
  override readonly name = 'InvalidVectorError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('INVALID_VECTOR', message, options);
  }
}

/** A text to store, embed or search is empty (or whitespace only). */
export class EmptyTextError extends RagError {
  override readonly name = 'EmptyTextError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('EMPTY_TEXT', message, options);
  }
}

/** A metadata filter is malformed or names a key outside the allowed pattern. Lists every issue. */
export class InvalidFilterError extends RagError {
  override readonly name = 'InvalidFilterError';
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[], options: CairnErrorOptions = {}) {
    super('INVALID_FILTER', `Invalid metadata filter: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, {
      ...options,
      details: { ...options.details, issues },
    });
    this.issues = issues;
  }
}

/** The text-search configuration (language) is not one PostgreSQL knows (`pg_ts_config`). */
export class UnknownLanguageError extends RagError {
  override readonly name = 'UnknownLanguageError';
  readonly language: string;
  constructor(language: string, available: readonly string[]) {
    super('UNKNOWN_LANGUAGE', `PostgreSQL has no text search configuration "${language}". Available: ${available.join(', ')}.`, {
      details: { language, available },
    });
    this.language = language;
  }
}

/** The operation needs an embedder (text search, documents without embeddings) and none was given. */
export class EmbedderRequiredError extends RagError {
  override readonly name = 'EmbedderRequiredError';
  constructor(message: string) {
    super('EMBEDDER_REQUIRED', message);
  }
}

/** `update()` named documents that do not exist; nothing was written. */
export class DocumentNotFoundError extends RagError {
  override readonly name = 'DocumentNotFoundError';
  readonly ids: readonly string[];
  constructor(collection: string, ids: readonly string[]) {
    const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, … (${ids.length} in all)` : '');
    super('DOCUMENT_NOT_FOUND', `No document(s) ${shown} in collection "${collection}"; nothing was updated.`, {
      details: { collection, ids },
    });
    this.ids = ids;
  }
}

/** The database lacks what @cairn/rag needs (the documents table, the vector extension). */
export class RagSchemaError extends RagError {
  override readonly name = 'RagSchemaError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('SCHEMA_MISMATCH', message, options);
  }
}

/** Creating, dropping or rebuilding a vector index failed, or the index is not one this API manages. */
export class VectorIndexError extends RagError {
  override readonly name = 'VectorIndexError';
  constructor(code: 'INDEX_NOT_FOUND' | 'INDEX_NOT_MANAGED' | 'INDEX_BUILD_FAILED' | 'INDEX_TOO_MANY_DIMENSIONS', message: string, options: CairnErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * A streaming ingest stopped. Batches before the failing one are committed (`upserted` of them);
 * the failing batch wrote nothing. Upserts are idempotent, so re-running the ingest is safe.
 */
export class IngestError extends RagError {
  override readonly name = 'IngestError';
  readonly upserted: number;
  constructor(upserted: number, options: CairnErrorOptions) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('INGEST_FAILED', `Ingest stopped after ${upserted} committed document(s): ${reason}`, {
      ...options,
      details: { ...options.details, upserted },
    });
    this.upserted = upserted;
  }
}

/** An embedding endpoint failed (after retries where retrying made sense) or answered nonsense. */
export class EmbeddingRequestError extends RagError {
  override readonly name = 'EmbeddingRequestError';
  /** HTTP status of the last attempt, or undefined for network errors and timeouts. */
  readonly status: number | undefined;
  readonly attempts: number;
  constructor(
    code: 'EMBEDDING_REQUEST_FAILED' | 'EMBEDDING_RESPONSE_INVALID',
    message: string,
    facts: { status?: number | undefined; attempts: number },
    options: CairnErrorOptions = {},
  ) {
    super(code, message, { ...options, details: { ...options.details, status: facts.status, attempts: facts.attempts } });
    this.status = facts.status;
    this.attempts = facts.attempts;
  }
}

/** The Rag handle (or a collection from it) was used after `close()`. */
export class RagClosedError extends RagError {
  override readonly name = 'RagClosedError';
  constructor() {
    super('RAG_CLOSED', 'This Rag instance is closed.');
  }
}
