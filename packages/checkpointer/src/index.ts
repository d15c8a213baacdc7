// @cairn/checkpointer: durable, time-travelling workflow checkpoints on PostgreSQL (or memory).
// The LangGraph checkpoint saver on top of them, CairnSaver, is the `@cairn/checkpointer/langgraph`
// entry, so this one loads without LangGraph installed.
export type { Checkpointer } from './contract.js';
export type { Checkpoint, RawCheckpoint, EncodedValue, PendingWrite, JsonValue, Metadata, ForkResult, PruneResult, CheckpointEvent, CheckpointerHealth } from './types.js';
export type {
  WriteInput,
  PutOptions,
  PutManyItem,
  RawPutItem,
  RawPutOptions,
  GetOptions,
  ListOptions,
  RawListQuery,
  HistoryOptions,
  ForkOptions,
  PutWritesOptions,
  WriteConflictMode,
  RetentionPolicy,
} from './schemas.js';
export { CheckpointerOptionsSchema, RetentionPolicySchema, type CheckpointerOptions } from './schemas.js';
export { BaseCheckpointer } from './base-checkpointer.js';
export { newCheckpointId } from './checkpoint-id.js';
export { MemoryCheckpointer } from './memory-checkpointer.js';
export { PostgresCheckpointer, type PostgresCheckpointerOptions } from './postgres-checkpointer.js';
export { exportThreads, importThreads, type ImportOptions, type ImportSummary } from './export-import.js';
export type { CompressionSettings } from './state-codec.js';
export {
  CheckpointerError,
  CheckpointNotFoundError,
  ConflictError,
  StorageError,
  StorageUnavailableError,
  ClosedError,
  ImportFormatError,
} from './errors.js';
// Re-exported so callers can catch every error this package throws from one import.
export { ValidationError, SerializationError, JsonSerializer, type Serializer } from '@cairn/core';
