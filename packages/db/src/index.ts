// @cairn/db: the one generated Prisma client, its connection, migrations and the embedded default.
export { createDb, CairnDb, poolConfigFor, type DbHealth, type PoolStats, type DbTransactionOptions, type DbRunOptions } from './create-db.js';
export { runTransaction, withPooledClient, CommitOutcomeUnknown, ISOLATION_LEVELS, type IsolationLevel, type TransactionOptions, type ClientLease } from './transaction.js';
export {
  DbOptionsSchema,
  PoolOptionsSchema,
  EmbeddedOptionsSchema,
  ExistingPoolSchema,
  isPgPool,
  type DbOptions,
  type PoolOptions,
  type PoolSettings,
  type EmbeddedOptions,
} from './options.js';
export { parseDatabaseUrl, redactUrl, withSchema, SchemaNameSchema, SSL_MODES, type DatabaseUrl, type SslMode } from './database-url.js';
export { startEmbeddedPostgres, EMBEDDED_PACKAGES, type EmbeddedPostgres } from './embedded.js';
export { PRISMA_DIR } from './prisma-files.js';
export {
  migrateDatabase,
  assertVectorExtensionAvailable,
  MIGRATIONS_DIR,
  SCHEMA_PATH,
  MIGRATION_PACKAGES,
  PGVECTOR_INSTALL_HINT,
  type MigrateOptions,
  type MigrateResult,
} from './migrate.js';
export { migrationStatus, type MigrationStatus, type MigrationStatusOptions, type FailedMigration } from './migration-status.js';
export { serverInfo, MIN_POSTGRES_MAJOR, type ServerInfo } from './server-info.js';
export { compileFilter, SqlParams } from './filter-sql.js';
export {
  DbError,
  DatabaseUrlError,
  DatabaseUnavailableError,
  ExtensionMissingError,
  MigrationError,
  EmbeddedDatabaseLockedError,
  MissingDependencyError,
} from './errors.js';
export type { Row, Tables, TableName, ColumnName } from './rows.js';
// The generated client and model types, for the other packages (only @cairn/db imports them).
export { PrismaClient, Prisma } from './generated/prisma/client.js';
export type {
  Session,
  Thread,
  Checkpoint,
  CheckpointWrite,
  StoredObject,
  ObjectVersion,
  Document,
  DeadLetter,
  DatabaseIdentity,
} from './generated/prisma/client.js';
