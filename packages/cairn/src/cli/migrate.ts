// `cairn migrate deploy` and `cairn migrate status`: @cairn/db's migrateDatabase() and
// migrationStatus() against the URL and schema the command line or environment name.
import { migrateDatabase, migrationStatus, parseDatabaseUrl, redactUrl, withSchema, type MigrationStatus } from '@cairn/db';
import { CliUsageError } from '../errors.js';
import type { MigrateSettings } from './args.js';
import type { CliOutput } from './output.js';

/** The command that applies the migrations into `schema`, as the user would type it. */
export function deployCommand(schema: string): string {
  return `npx cairn migrate deploy${schema === 'public' ? '' : ` --schema ${schema}`}`;
}

/** `url` with `--schema` applied (it overrides the URL's own `?schema=`), and the schema that results. */
export function targetOf(url: string, schema: string | undefined): { url: string; schema: string } {
  const target = schema === undefined ? url : withSchema(url, schema);
  return { url: target, schema: parseDatabaseUrl(target).schema ?? 'public' };
}

function requireUrl(settings: MigrateSettings, command: string): { url: string; schema: string } {
  if (settings.url === undefined) {
    throw new CliUsageError('No PostgreSQL URL: pass --url <url>, or set DIRECT_DATABASE_URL or DATABASE_URL.', { command });
  }
  return targetOf(settings.url, settings.schema);
}

/** `cairn migrate deploy`. Exit code 0 when the database ends up migrated. */
export async function migrateDeploy(settings: MigrateSettings, output: CliOutput): Promise<number> {
  const { url, schema } = requireUrl(settings, 'migrate deploy');
  if (parseDatabaseUrl(url).pgbouncer) {
    throw new CliUsageError(
      `${redactUrl(url)} goes through PgBouncer (pgbouncer=true), and migrations need a session of their own: ` +
        'pass --url with a direct connection to PostgreSQL, or set DIRECT_DATABASE_URL.',
      { command: 'migrate deploy' },
    );
  }
  const { applied } = await migrateDatabase(url);
  if (settings.json) {
    output.out(JSON.stringify({ url: redactUrl(url), schema, applied }));
  } else if (applied.length === 0) {
    output.out(`No pending migrations: schema "${schema}" of ${redactUrl(url)} is up to date.`);
  } else {
    output.out([`Applied ${applied.length} migration(s) to schema "${schema}" of ${redactUrl(url)}:`, ...applied.map((name) => `  ${name}`)].join('\n'));
  }
  return 0;
}

/** One line per problem of a status, with what to do about it. */
export function describeStatus(status: MigrationStatus): { summary: string; fix: string | undefined } {
  const parts: string[] = [];
  const fixes: string[] = [];
  if (status.failed.length > 0) {
    parts.push(`${status.failed.length} failed (${status.failed.map((f) => f.name).join(', ')})`);
    fixes.push(
      `see why: SELECT migration_name, logs FROM "${status.schema}"._prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL; ` +
        'fix the cause (PostgreSQL may have run the statements before the failing one), mark it rolled back ' +
        `(UPDATE "${status.schema}"._prisma_migrations SET rolled_back_at = now() WHERE migration_name = '<name>' AND finished_at IS NULL), ` +
        `then run \`${deployCommand(status.schema)}\``,
    );
  }
  if (status.pending.length > 0) {
    parts.push(`${status.pending.length} pending (${status.pending.join(', ')})`);
    if (status.failed.length === 0) fixes.push(`run \`${deployCommand(status.schema)}\``);
  }
  if (status.modified.length > 0) {
    parts.push(`${status.modified.length} changed since applied (${status.modified.join(', ')})`);
    fixes.push('the applied SQL differs from the SQL this version ships: install the @cairn/db version that migrated this database, or rebuild the database');
  }
  if (status.unknown.length > 0) {
    parts.push(`${status.unknown.length} not shipped with this version (${status.unknown.join(', ')})`);
    fixes.push(
      'the database has migrations this @cairn/db does not know: upgrade @cairn/cairn if a newer Cairn migrated it; ' +
        "if they are your application's own, keep Cairn in a schema of its own (--schema cairn, ?schema=cairn)",
    );
  }
  if (parts.length === 0) return { summary: `${status.applied.length} applied, none pending, in schema "${status.schema}"`, fix: undefined };
  return { summary: `${parts.join('; ')} in schema "${status.schema}"`, fix: fixes.join('; ') };
}

/** `cairn migrate status`. Exit code 0 only when the database is up to date. */
export async function migrateStatus(settings: MigrateSettings, output: CliOutput): Promise<number> {
  const { url } = requireUrl(settings, 'migrate status');
  const status = await migrationStatus(url);
  if (settings.json) {
    output.out(JSON.stringify({ url: redactUrl(url), ...status }));
    return status.upToDate ? 0 : 1;
  }
  const rows = [
    ...status.applied.map((name) => `  applied   ${name}${status.modified.includes(name) ? ' (changed since applied)' : ''}`),
    ...status.failed.map((f) => `  failed    ${f.name} (started ${f.startedAt.toISOString()})${f.logs ? `: ${f.logs.split('\n')[0]}` : ''}`),
    ...status.pending.map((name) => `  pending   ${name}`),
    ...status.unknown.map((name) => `  unknown   ${name} (in the database, not shipped with this version)`),
  ];
  const { summary, fix } = describeStatus(status);
  output.out(
    [
      `Cairn migrations in schema "${status.schema}" of ${redactUrl(url)}:`,
      ...rows,
      status.upToDate ? `Up to date: ${summary}.` : `Not up to date: ${summary}.`,
      ...(fix ? [`To do: ${fix}.`] : []),
    ].join('\n'),
  );
  return status.upToDate ? 0 : 1;
}
