// `cairn doctor`: checks what a Cairn deployment needs, each with a status and what to do, without
// changing anything: Node.js, the PostgreSQL URLs (PgBouncer without a direct URL), the server's
// version, pgvector, the migrations in Cairn's schema, and Redis when one is configured.
import { CairnError } from '@cairn/core';
import {
  MIN_POSTGRES_MAJOR,
  PGVECTOR_INSTALL_HINT,
  migrationStatus,
  parseDatabaseUrl,
  redactUrl,
  serverInfo,
  type ServerInfo,
} from '@cairn/db';
import { createRedis } from '@cairn/redis';
import type { DoctorSettings } from './args.js';
import { deployCommand, describeStatus, targetOf } from './migrate.js';
import type { CheckResult } from './output.js';
import { packageInfo, satisfiesNodeRange } from './package-info.js';

/** How long each network check may take to connect, in ms. */
const CONNECT_TIMEOUT_MS = 5_000;
/** pgvector versions: halfvec (Cairn's HNSW index casts to it) arrived in 0.7, iterative index scans in 0.8. */
const PGVECTOR_REQUIRED = [0, 7, 0];
const PGVECTOR_RECOMMENDED = [0, 8, 0];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function versionAtLeast(version: string, floor: number[]): boolean {
  const parts = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < floor.length; i++) {
    const diff = (parts[i] ?? 0) - floor[i]!;
    if (diff !== 0) return diff > 0;
  }
  return true;
}

function checkNode(): CheckResult {
  const range = packageInfo().engines.node;
  const version = process.versions.node;
  return satisfiesNodeRange(version, range)
    ? { id: 'node', title: 'Node.js', status: 'ok', message: `${version} (Cairn needs ${range})` }
    : {
        id: 'node',
        title: 'Node.js',
        status: 'fail',
        message: `${version} does not satisfy ${range}`,
        fix: `install Node.js ${range} (Prisma 7, which Cairn uses, needs the same)`,
      };
}

function checkPgBouncer(appUrl: string | undefined, directUrl: string | undefined): CheckResult {
  const base = { id: 'pgbouncer', title: 'PgBouncer' } as const;
  if (directUrl !== undefined && parseDatabaseUrl(directUrl).pgbouncer) {
    return {
      ...base,
      status: 'fail',
      message: `the direct URL ${redactUrl(directUrl)} goes through PgBouncer too (pgbouncer=true)`,
      fix: 'point DIRECT_DATABASE_URL (--direct-url) straight at PostgreSQL, not at the pooler',
    };
  }
  if (appUrl !== undefined && parseDatabaseUrl(appUrl).pgbouncer) {
    return directUrl === undefined
      ? {
          ...base,
          status: 'fail',
          message: `${redactUrl(appUrl)} goes through PgBouncer (pgbouncer=true) and no direct URL is set: migrations and LISTEN/NOTIFY need a session of their own, which transaction pooling cannot give`,
          fix: 'set DIRECT_DATABASE_URL (or pass --direct-url) to a direct PostgreSQL URL, migrate with it, and give it to createCairn as db.directUrl',
        }
      : { ...base, status: 'ok', message: 'the application goes through PgBouncer; migrations and LISTEN/NOTIFY use the direct URL' };
  }
  return { ...base, status: 'ok', message: 'not in use (no pgbouncer=true in the URL)' };
}

function checkServer(info: ServerInfo, url: string): CheckResult {
  const base = { id: 'postgres', title: 'PostgreSQL' } as const;
  if (info.major < MIN_POSTGRES_MAJOR) {
    return { ...base, status: 'fail', message: `${info.version} at ${redactUrl(url)} is older than ${MIN_POSTGRES_MAJOR}`, fix: `upgrade to PostgreSQL ${MIN_POSTGRES_MAJOR} or newer (Cairn is tested on 15, and on 18 embedded)` };
  }
  return { ...base, status: 'ok', message: `${info.version} at ${redactUrl(url)} (Cairn supports ${MIN_POSTGRES_MAJOR}+)` };
}

function checkVector({ vector }: ServerInfo, schema: string): CheckResult {
  const base = { id: 'pgvector', title: 'pgvector' } as const;
  const version = vector.installed ?? vector.available;
  if (version === null) {
    return { ...base, status: 'fail', message: 'the server does not have the vector extension (neither installed nor available to install)', fix: PGVECTOR_INSTALL_HINT };
  }
  const state = vector.installed !== null ? `${vector.installed} installed` : `${vector.available} available, not installed in this database yet`;
  const update = vector.installed !== null && vector.available !== null && vector.available !== vector.installed ? ` (the server has ${vector.available}: ALTER EXTENSION vector UPDATE)` : '';
  if (!versionAtLeast(version, PGVECTOR_REQUIRED)) {
    return {
      ...base,
      status: 'fail',
      message: `${state}; Cairn's document index needs pgvector 0.7+ (halfvec)`,
      fix: `install pgvector 0.8 or newer on the server, then ALTER EXTENSION vector UPDATE. ${PGVECTOR_INSTALL_HINT}`,
    };
  }
  if (!versionAtLeast(version, PGVECTOR_RECOMMENDED)) {
    return { ...base, status: 'warn', message: `${state}; filtered vector searches use iterative index scans, which need pgvector 0.8+`, fix: `install pgvector 0.8 or newer, then ALTER EXTENSION vector UPDATE${update}` };
  }
  if (vector.installed === null) {
    return { ...base, status: 'ok', message: `${state}: \`${deployCommand(schema)}\` creates it (as a role allowed to CREATE EXTENSION)` };
  }
  return { ...base, status: 'ok', message: `${state}${update}` };
}

async function checkMigrations(url: string): Promise<CheckResult> {
  const base = { id: 'migrations', title: 'migrations' } as const;
  try {
    const status = await migrationStatus(url, { connectionTimeoutMs: CONNECT_TIMEOUT_MS });
    const { summary, fix } = describeStatus(status);
    return status.upToDate ? { ...base, status: 'ok', message: summary } : { ...base, status: 'fail', message: summary, ...(fix ? { fix } : {}) };
  } catch (error) {
    return { ...base, status: 'fail', message: `could not read them: ${messageOf(error)}` };
  }
}

function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the Redis URL';
  }
}

async function checkRedis(url: string | undefined): Promise<CheckResult> {
  const base = { id: 'redis', title: 'Redis' } as const;
  if (url === undefined) return { ...base, status: 'skip', message: 'no Redis URL (--redis-url, REDIS_URL): Cairn runs without Redis, which is optional' };
  const where = redactRedisUrl(url);
  const redis = createRedis({ url, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  let settle: (() => void) | undefined;
  try {
    // The first 'ready' or 'error', whichever comes first: a refused connection is reported at once
    // (ready() would wait out its timeout), and the timer is cleared so the process can exit.
    await new Promise<void>((resolve, reject) => {
      const onReady = () => resolve();
      const onError = (error: Error) => reject(error);
      const timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      settle = () => {
        clearTimeout(timer);
        redis.client.off('ready', onReady);
        redis.client.off('error', onError);
      };
      redis.client.once('ready', onReady);
      redis.client.once('error', onError);
    });
    const health = await redis.healthCheck();
    if (!health.ok) throw new Error(health.error ?? 'PING failed');
    const info = await redis.client.info('server');
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1];
    return { ...base, status: 'ok', message: `${where} answers${version ? ` (Redis ${version})` : ''}, PING ${health.latencyMs.toFixed(1)} ms` };
  } catch (error) {
    return {
      ...base,
      status: 'warn',
      message: `${where} is unreachable: ${messageOf(error)}`,
      fix:
        'Redis is optional: createCairn() starts without it (caches miss, PostgreSQL serves every read, notifications go over LISTEN/NOTIFY) and uses it once it answers, ' +
        'unless you set redis.required: true. Start Redis or fix REDIS_URL, or unset it to run without Redis',
    };
  } finally {
    settle?.();
    await redis.close();
  }
}

/** Runs every check, in order; the database checks are skipped when PostgreSQL cannot be reached. */
export async function runDoctor(settings: DoctorSettings): Promise<CheckResult[]> {
  const checks: CheckResult[] = [checkNode()];
  let appUrl: string | undefined;
  let directUrl: string | undefined;
  let schema: string;
  try {
    // One schema for both URLs: --schema, else the application URL's ?schema=, else the direct URL's.
    const named = [settings.url, settings.directUrl].map((url) => (url === undefined ? undefined : parseDatabaseUrl(url).schema));
    schema = settings.schema ?? named.find((s) => s !== undefined) ?? 'public';
    appUrl = settings.url === undefined ? undefined : targetOf(settings.url, schema).url;
    directUrl = settings.directUrl === undefined ? undefined : targetOf(settings.directUrl, schema).url;
  } catch (error) {
    if (!(error instanceof CairnError)) throw error;
    checks.push({ id: 'postgres', title: 'PostgreSQL', status: 'fail', message: error.message, fix: 'fix the URL (--url, DATABASE_URL; --direct-url, DIRECT_DATABASE_URL)' });
    checks.push(await checkRedis(settings.redisUrl));
    return checks;
  }
  // Migrations and the checks run over the direct connection when there is one.
  const probeUrl = directUrl ?? appUrl;
  if (probeUrl === undefined) {
    checks.push({
      id: 'postgres',
      title: 'PostgreSQL',
      status: 'fail',
      message: 'no PostgreSQL URL to check',
      fix: 'pass --url <url> or set DATABASE_URL (without one, createCairn() runs on the embedded PGlite database, which needs none of these checks)',
    });
  } else {
    checks.push(checkPgBouncer(appUrl, directUrl));
    let info: ServerInfo | undefined;
    try {
      info = await serverInfo(probeUrl, { connectionTimeoutMs: CONNECT_TIMEOUT_MS });
      checks.push(checkServer(info, probeUrl));
    } catch (error) {
      checks.push({
        id: 'postgres',
        title: 'PostgreSQL',
        status: 'fail',
        message: `cannot connect: ${messageOf(error)}`,
        fix: "check that PostgreSQL is running and that the URL's host, port, user, password and database are right (create the database first: createdb <name>)",
      });
    }
    if (info) {
      checks.push(checkVector(info, schema));
      checks.push(await checkMigrations(probeUrl));
    } else {
      checks.push({ id: 'pgvector', title: 'pgvector', status: 'skip', message: 'PostgreSQL not reachable' });
      checks.push({ id: 'migrations', title: 'migrations', status: 'skip', message: 'PostgreSQL not reachable' });
    }
  }
  checks.push(await checkRedis(settings.redisUrl));
  return checks;
}
