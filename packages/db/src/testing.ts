// Test helpers every Cairn package reuses (`@cairn/db/testing`): a fresh PostgreSQL database per
// test file, cloned from the template the jest global setup migrated, and a PostgreSQL server of a
// test's own. Redis helpers are @cairn/redis/testing's.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type CairnDb } from './create-db.js';
import type { DbOptions } from './options.js';

export { typecheckAgainstSchema, type SchemaTypecheckOptions, type SchemaTypecheckResult, type CompileError } from './schema-typecheck.js';

const ADMIN_URL = process.env.CAIRN_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/**
 * With CAIRN_TEST_PGBOUNCER=1 the test databases are reached through PgBouncer in transaction
 * pooling (scripts/setup-services.sh starts one on 6432): `url` goes through it, `directUrl` not.
 */
const THROUGH_PGBOUNCER = process.env.CAIRN_TEST_PGBOUNCER === '1';
const PGBOUNCER_URL = process.env.CAIRN_TEST_PGBOUNCER_URL ?? 'postgresql://postgres@127.0.0.1:6432/postgres';

/** True when this test run reaches PostgreSQL through PgBouncer (tests of session behaviour skip then). */
export const throughPgBouncer = THROUGH_PGBOUNCER;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A database of its own for one test file. `drop()` removes it (connections are terminated). */
export interface TestDatabase {
  readonly name: string;
  /** The URL tests connect with: through PgBouncer (with `?pgbouncer=true`) when the run says so. */
  readonly url: string;
  /** A direct connection to the database, always. */
  readonly directUrl: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh, fully migrated database cloned from the run's template. With `migrated: false`
 * the database is empty (for migration tests).
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const template = process.env.CAIRN_TEST_TEMPLATE_DB;
  const migrated = options.migrated ?? true;
  if (migrated && !template) {
    throw new Error('CAIRN_TEST_TEMPLATE_DB is not set: run the tests through the shared jest preset (scripts/jest-preset.js).');
  }
  const run = process.env.CAIRN_TEST_RUN_PID ?? '0';
  const name = `cairn_test_${process.pid}_r${run}_${randomBytes(4).toString('hex')}`;
  await adminQuery(migrated ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`);
  let dropped = false;
  const directUrl = withDatabase(ADMIN_URL, name);
  return {
    name,
    url: THROUGH_PGBOUNCER ? `${withDatabase(PGBOUNCER_URL, name)}?pgbouncer=true` : directUrl,
    directUrl,
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A CairnDb on a fresh test database; its close() also drops the database. */
export async function createTestDb(options: Omit<DbOptions, 'url'> = {}): Promise<CairnDb> {
  const database = await createTestDatabase();
  const db = await createDb({ ...options, url: database.url, directUrl: database.directUrl, pool: { max: 5, ...options.pool } });
  const close = db.close.bind(db);
  db.close = async () => {
    await close();
    await database.drop();
  };
  return db;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A PostgreSQL server of the test's own (initdb'd on a free loopback port), which it can stop and start. */
export interface DisposablePostgresServer {
  readonly port: number;
  /** A URL of a fully migrated database `cairn` on it. */
  readonly url: string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

const PG_BIN = process.env.CAIRN_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

function runAs(command: string, args: string[], asPostgres: boolean): Promise<string> {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('error', reject);
    proc.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${out}`))));
  });
}

/**
 * Starts a private PostgreSQL (initdb + pg_ctl, trust auth, loopback only) and migrates a database
 * `cairn` on it, for tests that stop and restart the server. Runs the server as `postgres` when
 * the tests run as root (PostgreSQL refuses root).
 */
export async function startPostgresServer(): Promise<DisposablePostgresServer> {
  const asPostgres = typeof process.getuid === 'function' && process.getuid() === 0;
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-pg-'));
  const data = path.join(dir, 'data');
  if (asPostgres) await runAs('chown', ['postgres', dir], false);
  await runAs(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], asPostgres);
  const start = async () => {
    await runAs(
      `${PG_BIN}/pg_ctl`,
      ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'],
      asPostgres,
    );
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await runAs(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', mode, '-w', 'stop'], asPostgres).catch(() => undefined);
  };
  await start();
  const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query('CREATE DATABASE cairn');
  await client.end();
  const url = withDatabase(admin, 'cairn');
  const { migrateDatabase } = await import('./migrate.js');
  await migrateDatabase(url);
  return {
    port,
    url,
    stop,
    start,
    async destroy() {
      await stop('immediate');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
