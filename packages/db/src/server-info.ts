// What a PostgreSQL server offers Cairn, read without changing anything: its version and the
// pgvector extension (installed in this database, or only available to install).
import pg from 'pg';
import { parseDatabaseUrl, redactUrl } from './database-url.js';
import { DatabaseUnavailableError } from './errors.js';

/** The oldest PostgreSQL major version Cairn supports. */
export const MIN_POSTGRES_MAJOR = 13;

/** What `serverInfo()` found. */
export interface ServerInfo {
  /** `server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
  version: string;
  /** `server_version_num`'s major part, e.g. 15. */
  major: number;
  vector: {
    /** The version installed in this database (`pg_extension`), or null. */
    installed: string | null;
    /** The version the server could install (`pg_available_extensions.default_version`), or null when it has no pgvector. */
    available: string | null;
  };
}

/** Reads the server's version and pgvector's state. Throws DatabaseUnavailableError when it cannot connect. */
export async function serverInfo(url: string, options: { connectionTimeoutMs?: number } = {}): Promise<ServerInfo> {
  const client = new pg.Client({ connectionString: parseDatabaseUrl(url).connectionString, connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000 });
  try {
    await client.connect();
  } catch (cause) {
    throw new DatabaseUnavailableError(`Cannot connect to ${redactUrl(url)}: ${(cause as Error).message}`, { cause });
  }
  try {
    const { rows } = await client.query<{ version: string; num: string; installed: string | null; available: string | null }>(
      `SELECT current_setting('server_version') AS version,
              current_setting('server_version_num') AS num,
              (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
              (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`,
    );
    const row = rows[0]!;
    return { version: row.version, major: Math.floor(Number(row.num) / 10_000), vector: { installed: row.installed, available: row.available } };
  } finally {
    await client.end();
  }
}
