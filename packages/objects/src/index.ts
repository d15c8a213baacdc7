// @cairn/objects: typed object persistence (collections, versions, history, JSON Patch, snapshots,
// write-behind), and the session and thread managers of agent applications.
export { createObjectStore, ObjectStore, ObjectTransaction, type IsolationLevel, type TransactionOptions } from './object-store.js';
export {
  Collection,
  type ObjectRecord,
  type ObjectVersionRecord,
  type VersionInfo,
  type WriteResult,
  type DeleteResult,
  type OrderBy,
  type ListOptions,
  type FindOptions,
  type SaveOptions,
  type UpdateOptions,
  type ConditionalOptions,
  type JsonPatchOperation,
} from './collection.js';
export { EntityRepository, type Persistable, type PersistableClass, type EntitySaveResult } from './entity-repository.js';
export type { Where, Equals } from './filter.js';
export type { Page } from './cursor.js';
export {
  DeadLetters,
  DeadLetterListOptionsSchema,
  type QueuedWrite,
  type WriteBehindStats,
  type DeadLetterRecord,
  type DeadLetterListOptions,
  type ReplayedWrite,
} from './write-behind-queue.js';
export {
  SNAPSHOT_FORMAT,
  ObjectSnapshotSchema,
  type ObjectSnapshot,
  type SnapshotObject,
  type SnapshotVersion,
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
} from './snapshot.js';
export {
  ObjectStoreOptionsSchema,
  OBJECT_EVENTS_CHANNEL,
  WriteBehindOptionsSchema,
  ConflictRetrySchema,
  CollectionOptionsSchema,
  type ObjectStoreOptions,
  type WriteBehindOptions,
  type ConflictRetryOptions,
  type CollectionOptions,
  type PersistenceMode,
  type PersistenceModeOf,
} from './options.js';
// The input rules are @cairn/core's (one owner); re-exported for callers that validate before calling.
export { JsonValueSchema, JsonObjectSchema, TenantIdSchema, IdSchema, type JsonValue, type JsonObject, type JsonPrimitive } from '@cairn/core';
export { TypeNameSchema } from './type-name.js';
export type { SessionRecord } from './session-record.js';
export {
  SessionManager,
  SessionManagerOptionsSchema,
  SESSION_EVENTS_CHANNEL,
  type SessionManagerOptions,
  type CreateSessionInput,
  type UpdateSessionInput,
} from './session-manager.js';
export {
  ThreadManager,
  ThreadManagerOptionsSchema,
  type ThreadManagerOptions,
  type ThreadRecord,
  type CreateThreadInput,
  type UpdateThreadInput,
} from './thread-manager.js';
export {
  MessageStore,
  MessageStoreOptionsSchema,
  MessageRoleSchema,
  MAX_MESSAGES_PER_APPEND,
  type MessageStoreOptions,
  type MessageRecord,
  type MessageInput,
  type MessageChanges,
  type MessageListOptions,
  type MessageRole,
} from './message-store.js';
export {
  ObjectsError,
  VersionConflictError,
  ObjectNotFoundError,
  StoredObjectInvalidError,
  InvalidPatchError,
  PatchTestFailedError,
  WriteQueueFullError,
  WriteBehindError,
  WriteDeadLetteredError,
  DeadLetterNotFoundError,
  FlushTimeoutError,
  SnapshotConflictError,
  SessionNotFoundError,
  ThreadNotFoundError,
  MessageNotFoundError,
  DuplicateIdError,
  type QueuedWriteInfo,
} from './errors.js';
export { type ThreadDataOwner, type ThreadDataOwners, type ThreadDataDeletion } from './thread-data.js';
