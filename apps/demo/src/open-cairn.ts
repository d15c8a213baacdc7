// Turns the validated environment into a Cairn instance and a model: the demo's only wiring.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATE_HINT, StorageError, createCairn, type Cairn } from '@cairn/cairn';
import { migrationStatus, redactUrl } from '@cairn/db';
import type { DemoEnv } from './env.js';
import { OpenAiChatModel, TemplateModel, type AnswerModel } from './model.js';

/** The embedded database's default home: apps/demo/.cairn/pglite, whatever the working directory. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.cairn/pglite', import.meta.url));

/**
 * Refuses a DATABASE_URL whose migrations are not applied, before anything reads a table: the first
 * query would otherwise fail deep inside a request with `relation "objects" does not exist`.
 */
export async function assertMigrated(databaseUrl: string): Promise<void> {
  const status = await migrationStatus(databaseUrl);
  if (status.pending.length === 0 && status.failed.length === 0) return;
  const where = `${redactUrl(databaseUrl)} (schema ${status.schema})`;
  const what =
    status.failed.length > 0
      ? `a failed migration (${status.failed.map((f) => f.name).join(', ')})`
      : status.applied.length === 0
        ? "none of Cairn's tables"
        : `${status.pending.length} pending migration(s) (${status.pending.join(', ')})`;
  // The code a query on the missing tables would fail with (core's toStorageError), raised before any does.
  throw new StorageError(
    `The database ${where} has ${what}. Apply the migrations, then start again: \`pnpm db:deploy\` in this repository, or ${MIGRATE_HINT}.`,
    { code: 'SCHEMA_MISSING', details: { pending: status.pending } },
  );
}

/** Opens Cairn on DATABASE_URL / REDIS_URL, or on the embedded database when no URL is set. */
export async function openCairn(env: DemoEnv): Promise<Cairn> {
  if (env.DATABASE_URL !== undefined) await assertMigrated(env.DATABASE_URL);
  return createCairn({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    tenantId: env.CAIRN_TENANT ?? 'default',
    ...(env.REDIS_KEY_PREFIX !== undefined ? { redis: { keyPrefix: env.REDIS_KEY_PREFIX } } : {}),
    db: { embedded: { dataDir: env.CAIRN_DATA_DIR ?? DEFAULT_DATA_DIR }, pool: { applicationName: 'cairn-demo' } },
  });
}

/** A real chat model when an OpenAI-compatible endpoint (or an OpenAI key) is configured; else the template. */
export function modelFromEnv(env: DemoEnv): AnswerModel {
  if (env.OPENAI_BASE_URL === undefined && env.OPENAI_API_KEY === undefined) return new TemplateModel();
  return new OpenAiChatModel({ baseUrl: env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', apiKey: env.OPENAI_API_KEY, model: env.OPENAI_MODEL });
}

/** Where a running server on the embedded database leaves its URL for the CLI. */
export function serverFilePath(env: DemoEnv): string {
  return `${path.resolve(env.CAIRN_DATA_DIR ?? DEFAULT_DATA_DIR)}.server.json`;
}

/** Records the running server's URL (embedded database only: with a URL, the CLI connects itself). */
export async function writeServerFile(env: DemoEnv, url: string): Promise<void> {
  await writeFile(serverFilePath(env), JSON.stringify({ url, pid: process.pid }));
}

/** Removes the server file if it is ours. */
export async function removeServerFile(env: DemoEnv): Promise<void> {
  const info = await readServerFile(env);
  if (info?.pid === process.pid) await rm(serverFilePath(env), { force: true });
}

/** The running server's URL and pid, if a server file exists. */
export async function readServerFile(env: DemoEnv): Promise<{ url: string; pid: number } | undefined> {
  try {
    const data = JSON.parse(await readFile(serverFilePath(env), 'utf8')) as { url?: unknown; pid?: unknown };
    return typeof data.url === 'string' && typeof data.pid === 'number' ? { url: data.url, pid: data.pid } : undefined;
  } catch {
    return undefined;
  }
}
