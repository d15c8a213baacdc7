// The built `cairn` bin (dist/cli/main.js, what npm links as `cairn`), run as a child process
// against real servers: a fresh database of this file's own on the local PostgreSQL, a private
// Redis, a closed loopback port for Redis being down, and an embedded PGlite served without the
// vector extension, so the server truly lacks pgvector.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { MIGRATIONS_DIR, PGVECTOR_INSTALL_HINT } from '@cairn/db';
import { createTestDatabase, freePort, type TestDatabase } from '@cairn/db/testing';
import { startRedisServer, type DisposableRedisServer } from '@cairn/redis/testing';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bin asynchronously (the PGlite server below answers on this process's event loop). */
function cairn(args: string[], env: Record<string, string> = {}): Promise<Run> {
  // The bin sees only what a test gives it, not the variables of the shell running jest.
  const { DATABASE_URL: _d, DIRECT_DATABASE_URL: _dd, REDIS_URL: _r, NODE_OPTIONS: _n, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface DoctorJson {
  ok: boolean;
  checks: { id: string; status: string; message: string; fix?: string }[];
}

function check(report: DoctorJson, id: string): DoctorJson['checks'][number] {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check in ${JSON.stringify(report)}`);
  return found;
}

let database: TestDatabase;
let redis: DisposableRedisServer;
let migrations: string[];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm build\` first (these tests run the built bin)`);
  migrations = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  database = await createTestDatabase({ migrated: false });
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.stop();
  await database?.drop();
});

describe('cairn usage', () => {
  it('prints the commands for --help and exits 0', async () => {
    const run = await cairn(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: cairn <command> [options]');
    for (const command of ['migrate deploy', 'migrate status', 'doctor']) expect(run.stdout).toContain(command);
  });

  it("prints a command's options for <command> --help", async () => {
    const run = await cairn(['doctor', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: cairn doctor [options]');
    expect(run.stdout).toContain('--redis-url <url>');
  });

  it('answers an unknown command with the usage and exit code 2', async () => {
    const run = await cairn(['migrate', 'sideways']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown command 'migrate sideways'");
    expect(run.stderr).toContain('Usage: cairn <command> [options]');
  });

  it('answers an unknown option or a bad value with exit code 2, naming the option', async () => {
    const unknown = await cairn(['migrate', 'status', '--urll', database.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--urll'");
    expect(unknown.stderr).toContain('Usage: cairn migrate status [options]');
    const badSchema = await cairn(['migrate', 'deploy', '--url', database.url, '--schema', 'no-dashes']);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('--schema: must be a PostgreSQL identifier');
  });

  it('refuses to migrate without a URL', async () => {
    const run = await cairn(['migrate', 'deploy']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('No PostgreSQL URL: pass --url <url>, or set DIRECT_DATABASE_URL or DATABASE_URL');
  });
});

describe('cairn migrate and doctor on a database without the migrations, then after migrate deploy', () => {
  it('migrate status lists every shipped migration as pending in schema cairn and exits 1', async () => {
    const run = await cairn(['migrate', 'status', '--schema', 'cairn'], { DATABASE_URL: database.url });
    expect(run.code).toBe(1);
    for (const name of migrations) expect(run.stdout).toContain(`pending   ${name}`);
    expect(run.stdout).toContain(`Not up to date: ${migrations.length} pending`);
    expect(run.stdout).toContain('run `npx cairn migrate deploy --schema cairn`');
  });

  it('doctor fails the migrations check, says they are pending and names cairn migrate deploy', async () => {
    const run = await cairn(['doctor', '--url', database.url, '--schema', 'cairn']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`FAIL  migrations +${migrations.length} pending .* in schema "cairn"`));
    expect(run.stdout).toContain('→ run `npx cairn migrate deploy --schema cairn`');
    expect(run.stdout).toMatch(/ok {4}PostgreSQL +15\./);
    expect(run.stdout).toMatch(/ok {4}pgvector/);
    expect(run.stdout).toContain('1 check failed.');
  });

  it("migrate deploy applies them into schema cairn, with its own _prisma_migrations, and says so", async () => {
    const run = await cairn(['migrate', 'deploy', '--schema', 'cairn'], { DATABASE_URL: database.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Applied ${migrations.length} migration(s) to schema "cairn"`);
    for (const name of migrations) expect(run.stdout).toContain(`  ${name}`);
    const client = new pg.Client({ connectionString: database.directUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ schema: string }>(`SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = '_prisma_migrations'`);
      expect(rows.map((r) => r.schema)).toEqual(['cairn']);
    } finally {
      await client.end();
    }
    const again = await cairn(['migrate', 'deploy', '--schema', 'cairn', '--json'], { DATABASE_URL: database.url });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ schema: 'cairn', applied: [] });
  });

  it('migrate status then reports the schema up to date and exits 0; public still has everything pending', async () => {
    const run = await cairn(['migrate', 'status', '--url', `${database.url}?schema=cairn`]);
    expect(run.code).toBe(0);
    for (const name of migrations) expect(run.stdout).toContain(`applied   ${name}`);
    expect(run.stdout).toContain(`Up to date: ${migrations.length} applied, none pending, in schema "cairn".`);
    const json = await cairn(['migrate', 'status', '--json'], { DATABASE_URL: database.url });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'public', applied: [], pending: migrations, upToDate: false });
  });

  it('doctor passes every check with Redis up, in text and in JSON', async () => {
    const run = await cairn(['doctor', '--schema', 'cairn'], { DATABASE_URL: database.url, REDIS_URL: redis.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`ok {4}migrations +${migrations.length} applied, none pending, in schema "cairn"`));
    expect(run.stdout).toMatch(/ok {4}Redis +redis:\/\/.* answers \(Redis \d/);
    expect(run.stdout).toContain('All checks passed.');
    const json = await cairn(['doctor', '--schema', 'cairn', '--json'], { DATABASE_URL: database.url, REDIS_URL: redis.url });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as DoctorJson;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['node', 'ok'],
      ['pgbouncer', 'ok'],
      ['postgres', 'ok'],
      ['pgvector', 'ok'],
      ['migrations', 'ok'],
      ['redis', 'ok'],
    ]);
  });

  it('doctor warns, without failing, when Redis is down, and says Redis is optional', async () => {
    const closedPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${closedPort}`;
    const run = await cairn(['doctor', '--schema', 'cairn', '--redis-url', redisUrl], { DATABASE_URL: database.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`WARN  Redis       ${redisUrl} is unreachable: connect ECONNREFUSED`);
    expect(run.stdout).toContain('→ Redis is optional');
    expect(run.stdout).toContain('All checks passed (1 warning).');
    const json = await cairn(['doctor', '--schema', 'cairn', '--json'], { DATABASE_URL: database.url, REDIS_URL: redisUrl });
    expect(json.code).toBe(0);
    expect(check(JSON.parse(json.stdout) as DoctorJson, 'redis')).toMatchObject({ status: 'warn', fix: expect.stringContaining('Redis is optional') });
  });

  it('doctor fails the PgBouncer check for a pooled URL without a direct URL, and passes it with one', async () => {
    const pooled = new URL(database.directUrl);
    pooled.port = '6432';
    pooled.searchParams.set('pgbouncer', 'true');
    const alone = JSON.parse((await cairn(['doctor', '--url', pooled.toString(), '--schema', 'cairn', '--json'])).stdout) as DoctorJson;
    expect(alone.ok).toBe(false);
    expect(check(alone, 'pgbouncer')).toMatchObject({ status: 'fail', fix: expect.stringContaining('DIRECT_DATABASE_URL') });
    const withDirect = await cairn(['doctor', '--schema', 'cairn', '--json'], { DATABASE_URL: pooled.toString(), DIRECT_DATABASE_URL: database.directUrl });
    const report = JSON.parse(withDirect.stdout) as DoctorJson;
    expect(check(report, 'pgbouncer').status).toBe('ok');
    expect(check(report, 'migrations').status).toBe('ok');
    expect(withDirect.code).toBe(0);
    const deploy = await cairn(['migrate', 'deploy', '--url', pooled.toString()]);
    expect(deploy.code).toBe(2);
    expect(deploy.stderr).toContain('goes through PgBouncer (pgbouncer=true)');
  });
});

describe('cairn doctor on a server without pgvector', () => {
  let db: PGlite;
  let server: PGLiteSocketServer;
  let url: string;

  beforeAll(async () => {
    // PGlite with no extensions: a real PostgreSQL wire server on which `vector` is not available.
    db = await PGlite.create();
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 8 });
    await server.start();
    url = `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  });

  afterAll(async () => {
    await server?.stop();
    await db?.close();
  });

  it('reports pgvector missing with the install hint, and exits 1', async () => {
    const run = await cairn(['doctor', '--url', url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/ok {4}PostgreSQL +18\./);
    expect(run.stdout).toContain('FAIL  pgvector    the server does not have the vector extension (neither installed nor available to install)');
    expect(run.stdout).toContain(`→ ${PGVECTOR_INSTALL_HINT}`);
    const report = JSON.parse((await cairn(['doctor', '--url', url, '--json'])).stdout) as DoctorJson;
    expect(check(report, 'pgvector')).toEqual({ id: 'pgvector', title: 'pgvector', status: 'fail', message: expect.any(String), fix: PGVECTOR_INSTALL_HINT });
    expect(check(report, 'migrations').status).toBe('fail');
  });

  it('migrate deploy fails there with the same hint and exit code 1', async () => {
    const run = await cairn(['migrate', 'deploy', '--url', url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('does not have the pgvector extension');
    expect(run.stderr).toContain('(EXTENSION_MISSING)');
  });
});
