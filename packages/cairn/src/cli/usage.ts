// The help texts of `cairn` and of each command, built from the option table parseArgs uses, so the
// help cannot list an option the parser refuses.
import { COMMAND_OPTIONS, COMMANDS, type CommandName } from './args.js';

const SUMMARY: Record<CommandName, string> = {
  'migrate deploy': "Apply Cairn's pending migrations (the ones this version of @cairn/db ships).",
  'migrate status': 'List applied, pending and failed migrations; exits with 1 unless up to date.',
  doctor: 'Check Node.js, PostgreSQL, pgvector, the migrations, PgBouncer and Redis, and say what to do about each problem.',
};

/** `cairn --help`. */
export function mainUsage(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.length));
  return [
    `cairn ${version}: Cairn's command line (@cairn/cairn)`,
    '',
    'Usage: cairn <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.padEnd(width)}  ${SUMMARY[command]}`),
    '',
    'Options: --help (-h) after a command shows its options; --version (-v) prints the version.',
    'Environment: DATABASE_URL, DIRECT_DATABASE_URL (a direct connection when DATABASE_URL goes through PgBouncer), REDIS_URL.',
    'Exit codes: 0 done / all checks passed, 1 a check or the command failed, 2 usage error.',
  ].join('\n');
}

/** `cairn <command> --help`. */
export function commandUsage(command: CommandName): string {
  const options = Object.entries(COMMAND_OPTIONS[command]).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`,
    spec.help,
  ]);
  const width = Math.max(...options.map(([flag]) => flag!.length));
  return [`Usage: cairn ${command} [options]`, '', SUMMARY[command], '', 'Options:', ...options.map(([flag, help]) => `  ${flag!.padEnd(width)}  ${help}`)].join('\n');
}
