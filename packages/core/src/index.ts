// @cairn/core: what more than one Cairn package needs: the error base and taxonomy, the one retry
// policy, the mapping of driver errors, and the serializer seam.
export {
  CairnError,
  ValidationError,
  SerializationError,
  parseInput,
  toValidationIssues,
  type CairnErrorOptions,
  type ErrorCategory,
  type ErrorDetails,
  type ValidationIssue,
} from './errors.js';
export { StorageError, StorageUnavailableError, toStorageError, errorCode, type StorageErrorContext } from './storage-errors.js';
export {
  RetrySettingsSchema,
  DEFAULT_RETRY,
  TRANSIENT,
  withRetry,
  isTransientError,
  isConnectionError,
  backoffDelay,
  RetryExhausted,
  type RetrySettings,
  type RetryOptions,
  type RetryHooks,
} from './retry.js';
export { JsonSerializer, type Serializer } from './serializer.js';
