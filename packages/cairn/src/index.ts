// cairn: the umbrella package. createCairn() wires @cairn/db, @cairn/redis, @cairn/checkpointer,
// @cairn/objects and @cairn/rag together; the re-exports below let an application import what it
// needs from one place.
export { createCairn, Cairn, type CairnHealth } from './create-cairn.js';
export { CairnOptionsSchema, TenantIdSchema, NOTIFICATION_TRANSPORTS, type CairnOptions, type ResolvedCairnOptions } from './options.js';
export { CairnSetupError, CairnStartError, CairnCloseError } from './errors.js';

// The LangGraph saver and the LangChain adapters are the `@cairn/cairn/langgraph` and `@cairn/cairn/langchain`
// entries: they need optional peers this entry must load without.

// The building blocks, for typing and for catching errors.
export {
  CairnError,
  ValidationError,
  ClosedError,
  SerializationError,
  StorageError,
  MIGRATE_HINT,
  categoryOf,
  formatIssues,
  parseInput,
  JsonSerializer,
  type ErrorCategory,
  type Serializer,
  type ValidationIssue,
} from '@cairn/core';
export {
  createDb,
  migrateDatabase,
  CairnDb,
  DatabaseUnavailableError,
  ExtensionMissingError,
  MigrationError,
  MissingDependencyError,
  type DbOptions,
  type DbHealth,
} from '@cairn/db';
export {
  PostgresCheckpointer,
  MemoryCheckpointer,
  CheckpointNotFoundError,
  ConflictError,
  StorageUnavailableError,
  type Checkpointer,
  type Checkpoint,
  type CheckpointEvent,
  type Metadata,
  type PutOptions,
  type ListOptions as CheckpointListOptions,
  type ForkResult,
} from '@cairn/checkpointer';
export {
  ObjectStore,
  Collection,
  SessionManager,
  ThreadManager,
  MessageStore,
  MessageNotFoundError,
  VersionConflictError,
  ObjectNotFoundError,
  SessionNotFoundError,
  ThreadNotFoundError,
  type ObjectRecord,
  type SessionRecord,
  type ThreadRecord,
  type MessageRecord,
  type MessageInput,
  type MessageChanges,
  type MessageListOptions,
  type MessageRole,
  type JsonObject,
  type JsonValue,
} from '@cairn/objects';
export {
  createRag,
  Rag,
  PgVectorCollection,
  LocalHashEmbedder,
  OpenAICompatibleEmbedder,
  chunkText,
  chunkDocument,
  estimateTokens,
  type ChunkOptions,
  type TextChunk,
  RagError,
  DimensionMismatchError,
  InvalidFilterError,
  EmptyTextError,
  type Embedder,
  type SearchResult,
  type HybridSearchResult,
  type StoredDocument,
  type DocumentInput,
  type MetadataFilter,
  type CollectionOptions as VectorCollectionOptions,
  type SearchOptions,
  type HybridSearchOptions,
} from '@cairn/rag';
export {
  createRedis,
  RedisConnection,
  RedisCache,
  RedisSessionStore,
  RedisNotifier,
  PostgresNotifier,
  RedisUnavailableError,
  type RedisOptions,
  type ChangeNotifier,
  type TenantNotifier,
  type CairnEvent,
} from '@cairn/redis';
