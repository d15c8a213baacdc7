// The errors @cairn/rag raises. Callers branch on `instanceof`, `code` or `category`; every error
// carries the facts needed to act on it (expected vs actual dimension, the offending ids, the HTTP
// status). PostgreSQL failures that mean nothing particular to rag come as core's
// StorageUnavailableError / StorageError instead (see storage.ts). A bad filter is core's
// InvalidFilterError, the one error of Cairn's one filter language.
import { CairnError, TRANSIENT, categoryOf, type CairnErrorOptions, type ErrorCategory } from '@cairn/core';

/**
 * Base class of every @cairn/rag error. Never worth a retry by a caller's retry loop: each is about
 * the input or the setup, or says that rag's own retries were used up.
 */
export class RagError extends CairnError {
  override readonly name: string = 'RagError';
  readonly [TRANSIENT] = false;
}

/**
 * A vector's length differs from the collection's dimension (recorded in the registry when the
 * collection was first opened), or an embedder's from its collection's.
 */
export class DimensionMismatchError extends RagError {
  override readonly name = 'DimensionMismatchError';
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, message: string, options: CairnErrorOptions = {}) {
    super('DIMENSION_MISMATCH', message, { category: 'invalid_input', ...options, details: { ...options.details, expected, actual } });
    this.expected = expected;
    this.actual = actual;
  }
}

/** The settings a collection is registered with that an open must agree on. */
export interface RegisteredSettings {
  dimensions: number;
  metric: string;
  language: string;
}

/**
 * A collection was opened with settings that contradict the ones recorded when it was first opened
 * (in the `rag_collections` registry, by this process or another): another dimension, metric or
 * language. `stored` and `requested` hold the settings that differ. Nothing was changed; open it
 * with the stored settings (or none: they are then read from the registry), or move its documents
 * into a new collection (`reembedInto`).
 */
export class CollectionSettingsConflictError extends RagError {
  override readonly name = 'CollectionSettingsConflictError';
  readonly collection: string;
  readonly stored: Partial<RegisteredSettings>;
  readonly requested: Partial<RegisteredSettings>;
  constructor(collection: string, tenantId: string, stored: Partial<RegisteredSettings>, requested: Partial<RegisteredSettings>) {
    const keys = Object.keys(requested) as (keyof RegisteredSettings)[];
    const listed = keys.map((k) => `${k} ${JSON.stringify(stored[k])} (stored) against ${JSON.stringify(requested[k])} (requested)`).join(', ');
    super(
      'COLLECTION_SETTINGS_CONFLICT',
      `Collection "${collection}" of tenant "${tenantId}" is registered with other settings: ${listed}. ` +
        'Open it with the stored settings (or leave them out to use the stored ones), or re-embed its documents into a new collection (collection.reembedInto).',
      { category: 'conflict', details: { collection, tenantId, stored, requested } },
    );
    this.collection = collection;
    this.stored = stored;
    this.requested = requested;
  }
}

/** A vector holds NaN, ±Infinity, a value outside float4's range, or (for cosine) only zeros. */
export class InvalidVectorError extends RagError {
  override readonly name = 'InvalidVectorError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('INVALID_VECTOR', message, { category: 'invalid_input', ...options });
  }
}

/** A text to store, embed or search is empty (or whitespace only). */
export class EmptyTextError extends RagError {
  override readonly name = 'EmptyTextError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('EMPTY_TEXT', message, { category: 'invalid_input', ...options });
  }
}

/** The text-search configuration (language) is not one PostgreSQL knows (`pg_ts_config`). */
export class UnknownLanguageError extends RagError {
  override readonly name = 'UnknownLanguageError';
  readonly language: string;
  constructor(language: string, available: readonly string[]) {
    super('UNKNOWN_LANGUAGE', `PostgreSQL has no text search configuration "${language}". Available: ${available.join(', ')}.`, {
      category: 'invalid_input',
      details: { language, available },
    });
    this.language = language;
  }
}

/** The operation needs an embedder (text search, documents without embeddings) and none was given. */
export class EmbedderRequiredError extends RagError {
  override readonly name = 'EmbedderRequiredError';
  constructor(message: string) {
    super('EMBEDDER_REQUIRED', message, { category: 'invalid_input' });
  }
}

/** `update()` named documents that do not exist; nothing was written. */
export class DocumentNotFoundError extends RagError {
  override readonly name = 'DocumentNotFoundError';
  readonly ids: readonly string[];
  constructor(collection: string, ids: readonly string[]) {
    const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, … (${ids.length} in all)` : '');
    super('DOCUMENT_NOT_FOUND', `No document(s) ${shown} in collection "${collection}"; nothing was updated.`, {
      category: 'not_found',
      details: { collection, ids },
    });
    this.ids = ids;
  }
}

/** The database lacks what @cairn/rag needs (the documents table, the registry, the vector extension, the untyped embedding column): a deployment problem, category `internal`. */
export class RagSchemaError extends RagError {
  override readonly name = 'RagSchemaError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('SCHEMA_MISMATCH', message, { category: 'internal', ...options });
  }
}

const INDEX_ERROR_CATEGORIES = {
  INDEX_NOT_FOUND: 'not_found',
  INDEX_NOT_MANAGED: 'invalid_input',
  INDEX_NAME_TAKEN: 'conflict',
  INDEX_TOO_MANY_DIMENSIONS: 'invalid_input',
  INDEX_BUILD_FAILED: 'internal',
} as const satisfies Record<string, ErrorCategory>;

/**
 * Creating, dropping or rebuilding a vector index failed, or the index is not one this API manages.
 * A build that failed because PostgreSQL could not be reached is a StorageUnavailableError instead.
 */
export class VectorIndexError extends RagError {
  override readonly name = 'VectorIndexError';
  constructor(code: keyof typeof INDEX_ERROR_CATEGORIES, message: string, options: CairnErrorOptions = {}) {
    super(code, message, { category: categoryOf(options.cause, INDEX_ERROR_CATEGORIES[code]), ...options });
  }
}

/**
 * A streaming ingest stopped. Batches before the failing one are committed (`upserted` of them);
 * the failing batch wrote nothing. Upserts are idempotent, so re-running the ingest is safe.
 * `cause` says why (a ValidationError, a StorageUnavailableError, …) and gives the category.
 */
export class IngestError extends RagError {
  override readonly name = 'IngestError';
  readonly upserted: number;
  constructor(upserted: number, options: CairnErrorOptions) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('INGEST_FAILED', `Ingest stopped after ${upserted} committed document(s): ${reason}`, {
      category: categoryOf(options.cause, 'internal'),
      ...options,
      details: { ...options.details, upserted },
    });
    this.upserted = upserted;
  }
}

/**
 * An embedding endpoint failed (after retries where retrying made sense) or answered nonsense.
 * Category: `unavailable` when the last failure was worth retrying (429, 5xx, network, timeout),
 * `invalid_input` for a request the endpoint refused (400, 401, 404, …), `internal` for a nonsense answer.
 */
export class EmbeddingRequestError extends RagError {
  override readonly name = 'EmbeddingRequestError';
  /** HTTP status of the last attempt, or undefined for network errors and timeouts. */
  readonly status: number | undefined;
  readonly attempts: number;
  constructor(
    code: 'EMBEDDING_REQUEST_FAILED' | 'EMBEDDING_RESPONSE_INVALID',
    message: string,
    facts: { status?: number | undefined; attempts: number; transient?: boolean },
    options: CairnErrorOptions = {},
  ) {
    const category: ErrorCategory = code === 'EMBEDDING_RESPONSE_INVALID' ? 'internal' : facts.transient ? 'unavailable' : 'invalid_input';
    super(code, message, { category, ...options, details: { ...options.details, status: facts.status, attempts: facts.attempts } });
    this.status = facts.status;
    this.attempts = facts.attempts;
  }
}

