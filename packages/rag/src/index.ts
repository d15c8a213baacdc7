// @cairn/rag: a pgvector document store for retrieval-augmented generation.
export { createRag, Rag, type CollectionSummary } from './rag.js';
export { type RegisteredCollection, type VectorIndexSettings } from './collection-registry.js';
export { PgVectorCollection, type StoredDocument } from './collection.js';
export { type SearchResult, type HybridSearchResult } from './search-plan.js';
export { type UpsertResult, type IngestResult } from './ingest.js';
export {
  type RagOptions,
  type CollectionOptions,
  type SearchOptions,
  type HybridSearchOptions,
  type DocumentInput,
  type DocumentUpdate,
  type UpdateOptions,
  type IngestOptions,
  type ReembedOptions,
  type UpsertOptions,
  type IngestProgress,
  type GetOptions,
  type ListOptions,
  type Metadata,
  ITERATIVE_SCAN_MODES,
  type IterativeScanMode,
  LONG_DOCUMENT_MODES,
  type LongDocumentMode,
  EmbedderSchema,
} from './options.js';
export {
  type MetadataFilter,
  type FilterCondition,
  type FilterOperators,
  type FilterScalar,
  type FilterRangeValue,
  FILTER_KEY_PATTERN,
} from './filter.js';
export { METRICS, scoreFromDistance, type Metric, type VectorInput } from './vector.js';
export { type DocumentsTableInfo } from './catalog.js';
export {
  MANAGED_INDEX_PREFIX,
  MIGRATION_INDEX_NAME,
  type CreateIndexOptions,
  type EnsureIndexOptions,
  type CreateIndexResult,
  type DropIndexOptions,
  type RebuildIndexOptions,
  type VectorIndexInfo,
  type IndexScope,
} from './vector-index.js';
export { type Embedder, type EmbedOptions } from './embedder.js';
export { LocalHashEmbedder, type LocalHashEmbedderOptions } from './local-hash-embedder.js';
export {
  RagError,
  DimensionMismatchError,
  CollectionSettingsConflictError,
  type RegisteredSettings,
  InvalidVectorError,
  EmptyTextError,
  UnknownLanguageError,
  EmbedderRequiredError,
  DocumentNotFoundError,
  RagSchemaError,
  VectorIndexError,
  IngestError,
  EmbeddingRequestError,
} from './errors.js';
/** A bad filter: core's InvalidFilterError (the same class), re-exported where rag's users import it. */
export { InvalidFilterError } from '@cairn/core';
export {
  OpenAICompatibleEmbedder,
  type OpenAICompatibleEmbedderOptions,
  type EmbedderStats,
} from './openai-compatible-embedder.js';
export { chunkText, chunkDocument, estimateTokens, type ChunkOptions, type TextChunk } from './chunking.js';
// The LangChain adapters (CairnVectorStore, embedderFromLangChain, embedderToLangChain) are in
// the `@cairn/rag/langchain` entry, so this one loads without @langchain/core.
