// The embedded default database: PGlite (PostgreSQL in WASM) with pgvector, served on a loopback
// port through the wire protocol so the same node-postgres code path serves it and a real server.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { DbError, EmbeddedDatabaseLockedError } from './errors.js';
import { loadOptional } from './optional-dependency.js';
import type { EmbeddedOptions } from './options.js';
import { EmbeddedOptionsSchema } from './options.js';
import { parseInput } from '@cairn/core';

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Connection URL on loopback (no password; nothing else can reach it). */
  readonly url: string;
  readonly port: number;
  /** Absolute data directory, or undefined in memory. */
  readonly dataDir: string | undefined;
  /** Stops the server and closes PGlite, flushing it to disk. Idempotent. */
  close(): Promise<void>;
}

const openInThisProcess = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One process per data directory: PGlite has no locking of its own, and two writers corrupt it. */
async function acquireLock(dataDir: string): Promise<string> {
  const lockFile = `${dataDir}.lock`;
  if (openInThisProcess.has(dataDir)) throw new EmbeddedDatabaseLockedError(dataDir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      openInThisProcess.add(dataDir);
      return lockFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new EmbeddedDatabaseLockedError(dataDir, owner);
      }
      // The owner is gone (crashed or killed): the lock is stale.
      await rm(lockFile, { force: true });
    }
  }
  throw new EmbeddedDatabaseLockedError(dataDir, -1);
}

/** The embedded database's packages: optional peers, loaded only when a database is embedded. */
export const EMBEDDED_PACKAGES = ['@electric-sql/pglite', '@electric-sql/pglite-pgvector', '@electric-sql/pglite-socket'] as const;

function loadPglite() {
  return loadOptional('The embedded database (createDb() without a url)', EMBEDDED_PACKAGES, async () => {
    const [{ PGlite }, { vector }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-pgvector'),
      import('@electric-sql/pglite-socket'),
    ]);
    return { PGlite, vector, PGLiteSocketServer };
  });
}

/**
 * Starts PGlite with pgvector and serves it on loopback. Fails with MissingDependencyError
 * (`DEPENDENCY_MISSING`) when the PGlite packages are not installed.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const opts = parseInput(EmbeddedOptionsSchema, options, 'embedded database options');
  const lib = await loadPglite();
  const dataDir = opts.inMemory ? undefined : path.resolve(opts.dataDir);
  let lockFile: string | undefined;
  if (dataDir) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    lockFile = await acquireLock(dataDir);
  }
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  const release = async () => {
    if (dataDir) openInThisProcess.delete(dataDir);
    if (lockFile) await rm(lockFile, { force: true });
  };
  try {
    db = await lib.PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector: lib.vector } });
    server = new lib.PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port, maxConnections: opts.maxConnections });
    await server.start();
  } catch (cause) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await release();
    throw new DbError('EMBEDDED_START_FAILED', `Could not start the embedded database${dataDir ? ` at ${dataDir}` : ''}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const port = Number(server.getServerConn().split(':').pop());
  let closing: Promise<void> | undefined;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    port,
    dataDir,
    close() {
      closing ??= (async () => {
        await server.stop();
        await db.close();
        await release();
      })();
      return closing;
    },
  };
}
