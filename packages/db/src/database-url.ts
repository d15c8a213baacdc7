// Parses PostgreSQL connection strings into settings, turning every malformed URL into a
// DatabaseUrlError that says what is wrong without echoing the password.
import { z } from 'zod';
import { DatabaseUrlError } from './errors.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The parts of a PostgreSQL URL that Cairn uses. */
export interface DatabaseUrl {
  host: string;
  port: number;
  database: string;
  user: string | undefined;
  password: string | undefined;
  /** From `?sslmode=`, when given. */
  sslMode: SslMode | undefined;
  /** From `?schema=` (Prisma's parameter), when given. */
  schema: string | undefined;
  /** `?pgbouncer=true` (Prisma's parameter): the URL goes through a transaction-pooling PgBouncer. */
  pgbouncer: boolean;
  /** The URL without Prisma-only parameters, for node-postgres. */
  connectionString: string;
}

/** The URL with its password replaced by `***`, safe for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** A PostgreSQL schema name Cairn accepts (`?schema=`, the `schema` option): an unquoted identifier. */
export const SchemaNameSchema = z.string().regex(IDENTIFIER, 'must be a PostgreSQL identifier (letters, digits, _)');

/** `url` with `?schema=` set to `schema` (removed for `public`, the default), as Prisma and parseDatabaseUrl read it. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  if (schema === 'public') u.searchParams.delete('schema');
  else u.searchParams.set('schema', schema);
  return u.toString();
}

/** Parses `postgres://` / `postgresql://` URLs. Throws DatabaseUrlError naming the problem. */
export function parseDatabaseUrl(url: string): DatabaseUrl {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new DatabaseUrlError('DATABASE_URL is empty. Expected postgresql://user:password@host:5432/database');
  }
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new DatabaseUrlError(
      `DATABASE_URL is not a valid URL (${redactUrl(url)}). Expected postgresql://user:password@host:5432/database; percent-encode special characters in the password.`,
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new DatabaseUrlError(`DATABASE_URL must use postgresql:// or postgres://, not ${u.protocol}//`);
  }
  if (!u.hostname) throw new DatabaseUrlError(`DATABASE_URL has no host (${redactUrl(url)})`);
  const port = u.port === '' ? 5432 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DatabaseUrlError(`DATABASE_URL has an invalid port: ${u.port}`);
  let database: string;
  try {
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    throw new DatabaseUrlError('DATABASE_URL has a malformed database name');
  }
  if (database === '') throw new DatabaseUrlError(`DATABASE_URL names no database (${redactUrl(url)}); add /<database> after the host`);
  if (database.includes('/')) throw new DatabaseUrlError(`DATABASE_URL database name contains '/': ${database}`);
  const sslParam = u.searchParams.get('sslmode') ?? undefined;
  if (sslParam !== undefined && !(SSL_MODES as readonly string[]).includes(sslParam)) {
    throw new DatabaseUrlError(`DATABASE_URL has an unknown sslmode '${sslParam}'; use one of ${SSL_MODES.join(', ')}`);
  }
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !IDENTIFIER.test(schema)) {
    throw new DatabaseUrlError(`DATABASE_URL has an invalid schema '${schema}': use letters, digits and underscores`);
  }
  const pgbouncerParam = u.searchParams.get('pgbouncer') ?? undefined;
  if (pgbouncerParam !== undefined && pgbouncerParam !== 'true' && pgbouncerParam !== 'false') {
    throw new DatabaseUrlError(`DATABASE_URL has pgbouncer=${pgbouncerParam}; use pgbouncer=true or leave it out`);
  }
  const pgUrl = new URL(u.toString());
  pgUrl.searchParams.delete('schema');
  pgUrl.searchParams.delete('pgbouncer');
  // node-postgres reads sslmode itself; Cairn derives `ssl` from it, so keep it out of the string.
  pgUrl.searchParams.delete('sslmode');
  let user: string | undefined;
  let password: string | undefined;
  try {
    user = u.username ? decodeURIComponent(u.username) : undefined;
    password = u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    throw new DatabaseUrlError('DATABASE_URL has malformed percent-encoding in the user or password');
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    database,
    user,
    password,
    sslMode: sslParam as SslMode | undefined,
    schema,
    pgbouncer: pgbouncerParam === 'true',
    connectionString: pgUrl.toString(),
  };
}
