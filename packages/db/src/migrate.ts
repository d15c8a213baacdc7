// Applies prisma/migrations in-process through the WASM schema engine: the same engine and the
// same `_prisma_migrations` bookkeeping as `prisma migrate deploy`, without spawning the CLI.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { EMPTY_FILTERS, openSchemaEngine, readMigrationsList } from '../engine/wasm-schema-engine.js';
import { parseDatabaseUrl, redactUrl } from './database-url.js';
import { DatabaseUnavailableError, ExtensionMissingError, MigrationError } from './errors.js';
import { loadOptional } from './optional-dependency.js';
import { MIGRATIONS_DIR, SCHEMA_PATH } from './prisma-files.js';

export { MIGRATIONS_DIR, SCHEMA_PATH };

/** The schema engine's package: an optional peer, loaded only when migrations run. */
export const MIGRATION_PACKAGES = ['@prisma/schema-engine-wasm'] as const;

export interface MigrateOptions {
  /** Defaults to the migrations @cairn/db ships (MIGRATIONS_DIR). */
  migrationsDir?: string;
  /** Defaults to the schema @cairn/db ships (SCHEMA_PATH). */
  schemaPath?: string;
}


export interface MigrateResult {
  /** Names of the migrations this call applied (empty when already up to date). */
  applied: string[];
}

export const PGVECTOR_INSTALL_HINT =
  'Install pgvector on the PostgreSQL server (https://github.com/pgvector/pgvector#installation): ' +
  'Debian/Ubuntu `apt install postgresql-<major>-pgvector` (in the Cairn monorepo, `bash scripts/setup-services.sh` builds it from source on bookworm), ' +
  'Homebrew `brew install pgvector`, Docker image `pgvector/pgvector:pg17`; managed services (RDS, Cloud SQL, Azure, Supabase, Neon) ship it. ' +
  'Then run `CREATE EXTENSION vector;` as a superuser, or let the migration do it.';

/** Fails early, with install instructions, when the server cannot provide pgvector. */
export async function assertVectorExtensionAvailable(url: string, connectionTimeoutMs = 15_000): Promise<void> {
  const { connectionString } = parseDatabaseUrl(url);
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: connectionTimeoutMs });
  try {
    await client.connect();
  } catch (cause) {
    throw new DatabaseUnavailableError(`Cannot connect to ${redactUrl(url)}: ${(cause as Error).message}`, { cause });
  }
  try {
    const { rows } = await client.query<{ installed: boolean; available: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed,
              EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available`,
    );
    const row = rows[0];
    if (!row?.installed && !row?.available) {
      throw new ExtensionMissingError('vector', `The PostgreSQL server at ${redactUrl(url)} does not have the pgvector extension. ${PGVECTOR_INSTALL_HINT}`);
    }
    if (!row?.installed) {
      // In public, so every schema that keeps public on its search path sees the type. Without the
      // privilege this fails quietly here and the migration's own CREATE EXTENSION reports it.
      await client.query('CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public').catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

async function createSchemaIfMissing(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: parseDatabaseUrl(url).connectionString, connectionTimeoutMillis: 15_000 });
  await client.connect();
  try {
    // `schema` passed parseDatabaseUrl's identifier check; quoting keeps its case.
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations to the database at `url`, exactly as `prisma migrate deploy` would.
 * A failed migration is recorded as failed in `_prisma_migrations`; the error says how to recover.
 */
export async function migrateDatabase(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const schemaPath = options.schemaPath ?? SCHEMA_PATH;
  if (parseDatabaseUrl(url).pgbouncer) {
    // The schema engine holds a session-level advisory lock for the whole run; through a
    // transaction pooler that lock stays on a pooled server connection after the run, and the
    // next migration (even a direct one) waits on it forever.
    throw new MigrationError(
      `${redactUrl(url)} goes through PgBouncer (pgbouncer=true): run migrations against a direct connection to PostgreSQL instead.`,
    );
  }
  await assertVectorExtensionAvailable(url);
  const { schema: targetSchema } = parseDatabaseUrl(url);
  if (targetSchema && targetSchema !== 'public') await createSchemaIfMissing(url, targetSchema);
  const [schema, migrationsList] = await Promise.all([readFile(schemaPath, 'utf8'), readMigrationsList(migrationsDir)]);
  const engine = await loadOptional('Migrations (migrate: true, the embedded database, migrateDatabase())', MIGRATION_PACKAGES, () =>
    openSchemaEngine({ url, datamodels: [[schemaPath, schema]] }),
  );
  try {
    const result = (await engine.call('applyMigrations', { migrationsList, filters: EMPTY_FILTERS })) as {
      appliedMigrationNames: string[];
    };
    return { applied: result.appliedMigrationNames };
  } catch (cause) {
    const message = (cause as Error)?.message ?? String(cause);
    throw new MigrationError(
      `Migrating ${redactUrl(url)} failed: ${message}\n` +
        'The failed migration is recorded in the `_prisma_migrations` table (`npx cairn migrate status` names it; ' +
        '`SELECT migration_name, logs FROM _prisma_migrations WHERE finished_at IS NULL` shows its error). Fix its SQL (or the data it trips on), then mark it rolled back ' +
        '(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = \'<migration>\'`) and migrate again.',
      { cause },
    );
  } finally {
    await engine.close();
  }
}
