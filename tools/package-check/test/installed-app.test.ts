// The publishable packages as a user gets them: packed with pnpm, installed with npm into an app
// outside the workspace (under the OS temp directory, so nothing resolves through the workspace),
// and used there in one process each: first without the optional peers (each feature that needs
// one names it), then with them (a migrated PostgreSQL database, an application's own pool, and
// the embedded default), then beside the application's own Prisma schema, migrations and client.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { catalogSpecs, packAll, type PackedPackage } from '../src/packages.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env.CAIRN_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The umbrella package's npm name: the one place this test names it. */
const UMBRELLA = '@cairn/cairn';

/**
 * What an application with its own Prisma, a LangGraph graph and TypeScript installs itself, at the
 * versions the workspace uses (the Prisma family must match the @prisma/client @cairn/db depends on).
 */
const APPLICATION_PACKAGES = ['prisma', '@prisma/client', '@prisma/adapter-pg', '@langchain/core', '@langchain/langgraph', '@langchain/langgraph-checkpoint', 'typescript', '@types/node'];

/** The optional peers a user installs for migrations and the embedded database (the versions @cairn/db declares). */
function optionalPeers(db: PackedPackage & { peers: Record<string, string> }): string[] {
  return ['@electric-sql/pglite', '@electric-sql/pglite-pgvector', '@electric-sql/pglite-socket', '@prisma/schema-engine-wasm'].map((name) => `${name}@${db.peers[name]}`);
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function npm(args: string[], cwd: string): Promise<void> {
  await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'], { cwd, maxBuffer: 64 * 1024 * 1024 });
}

async function node(script: string, cwd: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [script], { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** Runs a binary the scratch app installed (node_modules/.bin); rejects, with its output, when it exits non-zero. */
async function bin(name: string, args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  const { stdout, stderr } = await run(path.join(cwd, 'node_modules', '.bin', name), args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return `${stdout}\n${stderr}`;
}

async function query<Row>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row & pg.QueryResultRow>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function directories(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

function databaseUrlOf(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

let appDir: string;
let packed: PackedPackage[];
const database = `cairn_pack_${randomBytes(4).toString('hex')}`;
const databaseUrl = databaseUrlOf(database);
/** The database of the app with its own Prisma: its tables in public, Cairn's in schema `cairn`. */
const appDatabase = `${database}_own_prisma`;
const appDatabaseUrl = databaseUrlOf(appDatabase);

beforeAll(async () => {
  appDir = await mkdtemp(path.join(tmpdir(), 'cairn-installed-app-'));
  packed = await packAll(appDir);
  const dependencies = Object.fromEntries(packed.map((pkg) => [pkg.name, `file:${pkg.tarball}`]));
  await writeFile(
    path.join(appDir, 'package.json'),
    JSON.stringify({ name: 'cairn-installed-app', private: true, type: 'module', dependencies: { ...dependencies, pg: '^8.23.1', zod: '^4.6.7' } }, null, 2),
  );
  for (const script of ['without-optional.mjs', 'with-optional.mjs']) await copyFile(path.join(HERE, 'app', script), path.join(appDir, script));
  await npm(['install'], appDir);
  await admin(`CREATE DATABASE "${database}"`);
  await admin(`CREATE DATABASE "${appDatabase}"`);
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
  await admin(`DROP DATABASE IF EXISTS "${appDatabase}" WITH (FORCE)`).catch(() => undefined);
  if (appDir) await rm(appDir, { recursive: true, force: true });
});

describe('the packed packages installed with npm in an app outside the workspace', () => {
  it('load without the optional peers, and name the packages each missing feature needs', async () => {
    const report = await node('without-optional.mjs', appDir, { APP_DATABASE_URL: databaseUrl });
    expect(report.embedded).toMatchObject({ code: 'CAIRN_START_FAILED', causeCode: 'DEPENDENCY_MISSING' });
    expect((report.embedded as { missing: string[] }).missing).toEqual(['@electric-sql/pglite@0.5.14', '@electric-sql/pglite-pgvector@0.0.15', '@electric-sql/pglite-socket@0.2.17']);
    expect(report.migrate).toMatchObject({ code: 'CAIRN_START_FAILED', causeCode: 'DEPENDENCY_MISSING' });
    expect((report.migrate as { missing: string[] }).missing).toEqual([expect.stringMatching(/^@prisma\/schema-engine-wasm@7\.10\.0-/)]);
    expect((report.migrate as { message: string }).message).toContain('npm install @prisma/schema-engine-wasm@');
    // The LangGraph store loads only when configured, and needs LangGraph's packages.
    expect(report.store).toMatchObject({ code: 'DEPENDENCY_MISSING', causeCode: 'ERR_MODULE_NOT_FOUND' });
    expect((report.store as { message: string }).message).toContain("'@langchain/langgraph-checkpoint'");
    // The LangChain adapters are entries of their own that need their peers.
    expect(report[`${UMBRELLA}/langgraph`]).toBe('ERR_MODULE_NOT_FOUND');
    expect(report[`${UMBRELLA}/langchain`]).toBe('ERR_MODULE_NOT_FOUND');
  });

  describe("with the optional peers, and the application's own Prisma, LangGraph and TypeScript", () => {
    beforeAll(async () => {
      const manifest = (await import(path.join(appDir, 'node_modules', '@cairn', 'db', 'package.json'), { with: { type: 'json' } })) as {
        default: { peerDependencies: Record<string, string> };
      };
      const db = { ...packed.find((pkg) => pkg.name === '@cairn/db')!, peers: manifest.default.peerDependencies };
      // One install for both scenarios below: npm's resolution of the whole set is most of the time.
      await npm(['install', ...optionalPeers(db), ...(await catalogSpecs(APPLICATION_PACKAGES))], appDir);
    });

    it('migrate a fresh database, work on an application pool they leave open, and run embedded with no URL', async () => {
      const report = await node('with-optional.mjs', appDir, { APP_DATABASE_URL: databaseUrl, APP_DATA_DIR: path.join(appDir, 'data', 'pglite') });
      const work = { checkpoint: { messages: ['hi', 'hello'] }, object: { text: expect.any(String) }, topHit: 'd1' };
      expect(report.postgres).toEqual({ ...work, object: { text: 'written on postgres' } });
      expect(report.postgresHealth).toBe('ok');
      expect(report.ownPool).toEqual({ checkpoint: { messages: ['hi', 'hello'] }, afterClose: 1, errorListeners: 1 });
      expect(report.embedded).toEqual({ ...work, object: { text: 'written on embedded' } });
      expect(report.embeddedHealth).toBe(true);
    });

    it("live in schema cairn beside the application's own schema, migrations and PrismaClient in public, in one process", async () => {
      await cp(path.join(HERE, 'app', 'with-own-prisma'), appDir, { recursive: true });
      // The fixture imports the umbrella through this module, so the package's name stays in UMBRELLA.
      await writeFile(path.join(appDir, 'umbrella.ts'), `export * from '${UMBRELLA}';\nexport { CairnSaver } from '${UMBRELLA}/langgraph';\n`);
      const env = {
        DATABASE_URL: appDatabaseUrl,
        // The stock CLI through the WASM engine @cairn/db ships: the native engine cannot be
        // downloaded here (a machine that can download it needs none of this).
        PRISMA_SCHEMA_ENGINE_BINARY: path.join(appDir, 'node_modules', '.bin', 'cairn-schema-engine'),
        // No update check against Prisma's servers from a test.
        CHECKPOINT_DISABLE: '1',
      };
      const userMigrations = path.join(appDir, 'prisma', 'migrations');
      const committed = await directories(userMigrations);
      expect(committed).toEqual([expect.stringMatching(/^\d{14}_init$/)]);

      // Prisma 7's migrate dev no longer generates the client; the app's build does, then tsc
      // type-checks the app against its own client and the packages' published types.
      await bin('prisma', ['generate'], appDir, env);
      await bin('tsc', ['-p', '.'], appDir, env);

      // Cairn first: its migrations and their _prisma_migrations in schema cairn, nothing in public.
      expect(await node('build/migrate-cairn.js', appDir, env)).toEqual({ schema: 'cairn' });
      const shipped = await directories(path.join(appDir, 'node_modules', '@cairn', 'db', 'prisma', 'migrations'));
      const cairnHistory = await query<{ migration_name: string }>(appDatabaseUrl, 'SELECT migration_name FROM cairn._prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1');
      expect(cairnHistory.map((row) => row.migration_name)).toEqual(shipped);
      expect(await query(appDatabaseUrl, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);

      // The user's own migrate dev in public: applies their migration, asks for no reset (it would
      // refuse to reset in a non-interactive run and exit non-zero) and writes no new migration.
      const dev = await bin('prisma', ['migrate', 'dev'], appDir, env);
      expect(dev).toContain('The following migration(s) have been applied');
      expect(dev).toContain(committed[0]);
      expect(dev).toContain('Your database is now in sync with your schema.');
      expect(dev).not.toMatch(/reset|drift/i);
      expect(await directories(userMigrations)).toEqual(committed);
      expect(await bin('prisma', ['migrate', 'status'], appDir, env)).toContain('Database schema is up to date!');
      // What the user's Prisma sees of the database is exactly their schema: Cairn's tables are not in it.
      const fromDatabase = await bin('prisma', ['migrate', 'diff', '--from-config-datasource', '--to-schema', 'prisma/schema.prisma', '--script'], appDir, env);
      expect(fromDatabase).toContain('-- This is an empty migration.');

      const report = await node('build/app.js', appDir, env);
      expect(report).toEqual({
        customer: { id: 'c1', name: 'Ada', cairnThreadId: 'support-c1' },
        conversation: [
          ['human', 'hi'],
          ['ai', 'echo: hi'],
          ['human', 'again'],
          ['ai', 'echo: again'],
        ],
        note: { customerId: 'c1', text: 'prefers email' },
        topHit: 'd1',
        health: 'ok',
        cairnSchema: 'cairn',
      });

      const tables = await query<{ table_schema: string; table_name: string }>(
        appDatabaseUrl,
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'cairn') ORDER BY 1, 2",
      );
      expect(tables.filter((t) => t.table_schema === 'public').map((t) => t.table_name)).toEqual(['Customer', '_prisma_migrations']);
      expect(tables.filter((t) => t.table_schema === 'cairn').map((t) => t.table_name)).toEqual(
        expect.arrayContaining(['_prisma_migrations', 'checkpoints', 'checkpoint_writes', 'objects', 'documents', 'threads']),
      );
      const userHistory = await query<{ migration_name: string }>(appDatabaseUrl, 'SELECT migration_name FROM public._prisma_migrations ORDER BY 1');
      expect(userHistory.map((row) => row.migration_name)).toEqual(committed);
    });
  });
});
