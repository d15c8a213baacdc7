import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ExtensionMissingError, migrateDatabase, MigrationError, MIGRATIONS_DIR } from '@cairn/db';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { copyPrismaProject, prisma, type PrismaCopy } from '../src/prisma-project.js';
import pg from 'pg';

async function migrationNames(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

describe('the committed migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => {
    await database.drop();
  });

  it('apply to an empty database, once', async () => {
    const first = await migrateDatabase(database.url);
    expect(first.applied).toEqual(await migrationNames(MIGRATIONS_DIR));
    const second = await migrateDatabase(database.url);
    expect(second.applied).toEqual([]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'documents' ORDER BY 1`);
      expect(rows.map((r) => r.indexname)).toEqual(
        expect.arrayContaining(['documents_embedding_hnsw_cosine_idx', 'documents_tsv_gin_idx', 'documents_metadata_idx']),
      );
      const { rows: ext } = await client.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
      expect(ext).toHaveLength(1);
    } finally {
      await client.end();
    }
  });

  it('leave `prisma migrate status` clean', async () => {
    const status = await prisma(['migrate', 'status'], { DATABASE_URL: database.url });
    expect(status.output).toContain('Database schema is up to date');
    expect(status.code).toBe(0);
  });

  it('match the schema: the next diff is empty (no DROP INDEX, no repeated CREATE EXTENSION)', async () => {
    // A diff with content first: the engine's answer must reach the CLI's output, or an empty
    // output below would prove nothing.
    const full = await prisma(['migrate', 'diff', '--from-empty', '--to-schema', '../../prisma/schema.prisma', '--script'], { DATABASE_URL: database.url });
    expect(full.code).toBe(0);
    expect(full.output).toContain('CREATE TABLE "checkpoints"');
    const args = ['migrate', 'diff', '--from-migrations', '../../prisma/migrations', '--to-schema', '../../prisma/schema.prisma', '--script', '--exit-code'];
    const diff = await prisma(args, { DATABASE_URL: database.url });
    expect(diff.output).not.toMatch(/DROP INDEX|CREATE EXTENSION|CREATE TABLE|ALTER TABLE/);
    expect(diff.output).toContain('-- This is an empty migration.');
    expect(diff.code).toBe(0);
  });
});

describe('prisma migrate dev after a schema edit (offline, in a scratch copy)', () => {
  let copy: PrismaCopy;
  let database: TestDatabase;
  beforeAll(async () => {
    copy = await copyPrismaProject();
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => {
    await database.drop();
    await copy.remove();
  });

  it('creates a migration with only the real change, and applies it', async () => {
    await copy.editSchema((s) => s.replace(/(\n\s*title\s+String\?)/, '$1\n  archived  Boolean  @default(false)'));
    const before = await migrationNames(copy.migrationsDir);
    const dev = await prisma(['migrate', 'dev', '--name', 'add_archived', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(dev.code).toBe(0);
    const added = (await migrationNames(copy.migrationsDir)).filter((n) => !before.includes(n));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^\d{14}_add_archived$/);
    const sql = await readFile(path.join(copy.migrationsDir, added[0]!, 'migration.sql'), 'utf8');
    expect(sql).toContain('ALTER TABLE "threads" ADD COLUMN');
    expect(sql).toContain('"archived" BOOLEAN NOT NULL DEFAULT false');
    expect(sql).not.toMatch(/DROP INDEX|CREATE EXTENSION|documents/);

    const status = await prisma(['migrate', 'status', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(status.output).toContain('Database schema is up to date');
    const again = await prisma(['migrate', 'dev', '--name', 'nothing', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(again.output).toMatch(/Already in sync/);
    expect(await migrationNames(copy.migrationsDir)).toHaveLength(before.length + 1);
  });

  it('resets the database with `migrate reset`', async () => {
    const reset = await prisma(['migrate', 'reset', '--force', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(reset.code).toBe(0);
    const status = await prisma(['migrate', 'status', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(status.output).toContain('Database schema is up to date');
  });
});

describe('a failed migration', () => {
  let copy: PrismaCopy;
  let database: TestDatabase;
  beforeAll(async () => {
    copy = await copyPrismaProject();
    database = await createTestDatabase({ migrated: false });
    const dir = path.join(copy.migrationsDir, '29990101000000_broken');
    await mkdir(dir);
    await writeFile(path.join(dir, 'migration.sql'), 'ALTER TABLE "threads" ADD COLUMN "x" INTEGER;\nALTER TABLE "no_such_table" ADD COLUMN "y" INTEGER;\n');
  });
  afterAll(async () => {
    await database.drop();
    await copy.remove();
  });

  it('raises a MigrationError that says how to recover', async () => {
    const err = await migrateDatabase(database.url, { migrationsDir: copy.migrationsDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(/no_such_table/);
    expect((err as Error).message).toMatch(/npx cairn migrate status/);
  });

  it('is reported by `migrate status`, and recovers after a fix and `migrate resolve --rolled-back`', async () => {
    const status = await prisma(['migrate', 'status', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(status.code).not.toBe(0);
    expect(status.output).toContain('29990101000000_broken');
    expect(status.output).toMatch(/failed/i);

    // The statement before the failure ran outside a transaction, as with the native engine;
    // the fix must cope with that (IF NOT EXISTS), which is what users do.
    await writeFile(
      path.join(copy.migrationsDir, '29990101000000_broken', 'migration.sql'),
      'ALTER TABLE "threads" ADD COLUMN IF NOT EXISTS "x" INTEGER;\n',
    );
    const resolve = await prisma(['migrate', 'resolve', '--rolled-back', '29990101000000_broken', '--config', copy.configPath], {
      DATABASE_URL: database.url,
    });
    expect(resolve.code).toBe(0);
    const deploy = await prisma(['migrate', 'deploy', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(deploy.code).toBe(0);
    const after = await prisma(['migrate', 'status', '--config', copy.configPath], { DATABASE_URL: database.url });
    expect(after.output).toContain('Database schema is up to date');
  });
});

describe('a server without pgvector', () => {
  it('gets a clear error that says how to install it', async () => {
    // PGlite without its vector extension is a real PostgreSQL on which `vector` is unavailable.
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
    await server.start();
    try {
      const url = `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
      const err = await migrateDatabase(url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExtensionMissingError);
      expect((err as ExtensionMissingError).code).toBe('EXTENSION_MISSING');
      expect((err as Error).message).toMatch(/pgvector/);
      expect((err as Error).message).toMatch(/CREATE EXTENSION vector/);
    } finally {
      await server.stop();
      await db.close();
    }
  });
});
