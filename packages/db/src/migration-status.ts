// Where a database stands against the migrations @cairn/db ships, read from the `_prisma_migrations`
// table the schema engine keeps (the same rows `prisma migrate status` reads). Read-only, and it
// needs no schema engine, so `cairn doctor` and `cairn migrate status` work without the optional
// WASM engine installed.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { readMigrationsList } from '../engine/wasm-schema-engine.js';
import { parseDatabaseUrl, redactUrl } from './database-url.js';
import { DatabaseUnavailableError } from './errors.js';
import { MIGRATIONS_DIR } from './prisma-files.js';

/** A migration the engine started and did not finish (nor was it marked rolled back). */
export interface FailedMigration {
  name: string;
  startedAt: Date;
  /** The engine's error output, as recorded. */
  logs: string | null;
}

/** What `migrationStatus()` found. */
export interface MigrationStatus {
  /** The PostgreSQL schema that holds Cairn's tables and its `_prisma_migrations` (`?schema=`, else `public`). */
  schema: string;
  /** Shipped migrations applied to the database, oldest first. */
  applied: string[];
  /** Shipped migrations not applied yet (failed ones excluded), oldest first. */
  pending: string[];
  failed: FailedMigration[];
  /** Applied migrations whose shipped SQL differs from what was applied (checksum mismatch). */
  modified: string[];
  /** Migrations the database records that these migrations do not include (a newer Cairn, or another app's migrations in the same schema). */
  unknown: string[];
  /** No pending, failed, modified or unknown migrations. */
  upToDate: boolean;
}

export interface MigrationStatusOptions {
  /** Defaults to the migrations @cairn/db ships (MIGRATIONS_DIR). */
  migrationsDir?: string;
  /** Milliseconds to connect. @defaultValue 10000 */
  connectionTimeoutMs?: number;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

/**
 * Compares the database at `url` (in its `?schema=`) with the shipped migrations. A database or
 * schema without `_prisma_migrations` has every migration pending. Throws DatabaseUnavailableError
 * when it cannot connect.
 */
export async function migrationStatus(url: string, options: MigrationStatusOptions = {}): Promise<MigrationStatus> {
  const { connectionString, schema: urlSchema } = parseDatabaseUrl(url);
  const schema = urlSchema ?? 'public';
  const list = await readMigrationsList(options.migrationsDir ?? MIGRATIONS_DIR);
  // The engine records sha256 of the file's text as `checksum`.
  const shipped = new Map(
    list.migrationDirectories.map((dir) => [dir.path, createHash('sha256').update(dir.migrationFile.content.value).digest('hex')]),
  );
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000 });
  try {
    await client.connect();
  } catch (cause) {
    throw new DatabaseUnavailableError(`Cannot connect to ${redactUrl(url)}: ${(cause as Error).message}`, { cause });
  }
  let rows: MigrationRow[] = [];
  try {
    // `schema` passed parseDatabaseUrl's identifier check; quoting keeps its case.
    const table = `"${schema}"."_prisma_migrations"`;
    const { rows: found } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
    if (found[0]?.exists) {
      ({ rows } = await client.query<MigrationRow>(
        `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at, logs FROM ${table} ORDER BY started_at, migration_name`,
      ));
    }
  } finally {
    await client.end();
  }
  // A migration marked rolled back and applied again has two rows: the live one decides.
  const live = rows.filter((row) => row.rolled_back_at === null);
  const done = new Map(live.filter((row) => row.finished_at !== null).map((row) => [row.migration_name, row]));
  const failed = live
    .filter((row) => row.finished_at === null && !done.has(row.migration_name))
    .map((row) => ({ name: row.migration_name, startedAt: row.started_at, logs: row.logs }));
  const failedNames = new Set(failed.map((f) => f.name));
  const names = [...shipped.keys()];
  const applied = names.filter((name) => done.has(name));
  const pending = names.filter((name) => !done.has(name) && !failedNames.has(name));
  const modified = applied.filter((name) => done.get(name)?.checksum !== shipped.get(name));
  const unknown = [...new Set(live.map((row) => row.migration_name))].filter((name) => !shipped.has(name));
  return {
    schema,
    applied,
    pending,
    failed,
    modified,
    unknown,
    upToDate: pending.length === 0 && failed.length === 0 && modified.length === 0 && unknown.length === 0,
  };
}
