// The publishable packages as a user gets them: packed with pnpm, installed with npm into an app
// outside the workspace (under the OS temp directory, so nothing resolves through the workspace),
// and used there in one process each: first without the optional peers (each feature that needs
// one names it), then with them (a migrated PostgreSQL database, an application's own pool, and
// the embedded default).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { packAll, type PackedPackage } from '../src/packages.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env.CAIRN_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

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

let appDir: string;
let packed: PackedPackage[];
const database = `cairn_pack_${randomBytes(4).toString('hex')}`;
const databaseUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
})();

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
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
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
    // The LangChain adapters are entries of their own that need their peers.
    expect(report['@cairn/cairn/langgraph']).toBe('ERR_MODULE_NOT_FOUND');
    expect(report['@cairn/cairn/langchain']).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('migrate a fresh database, work on an application pool they leave open, and run embedded with no URL', async () => {
    const manifest = (await import(path.join(appDir, 'node_modules', '@cairn', 'db', 'package.json'), { with: { type: 'json' } })) as {
      default: { peerDependencies: Record<string, string> };
    };
    const db = { ...packed.find((pkg) => pkg.name === '@cairn/db')!, peers: manifest.default.peerDependencies };
    await npm(['install', ...optionalPeers(db)], appDir);
    const report = await node('with-optional.mjs', appDir, { APP_DATABASE_URL: databaseUrl, APP_DATA_DIR: path.join(appDir, 'data', 'pglite') });
    const work = { checkpoint: { messages: ['hi', 'hello'] }, object: { text: expect.any(String) }, topHit: 'd1' };
    expect(report.postgres).toEqual({ ...work, object: { text: 'written on postgres' } });
    expect(report.postgresHealth).toBe('ok');
    expect(report.ownPool).toEqual({ checkpoint: { messages: ['hi', 'hello'] }, afterClose: 1, errorListeners: 1 });
    expect(report.embedded).toEqual({ ...work, object: { text: 'written on embedded' } });
    expect(report.embeddedHealth).toBe(true);
  });
});
