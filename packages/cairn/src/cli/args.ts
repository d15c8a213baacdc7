// The command line and environment of `cairn`, parsed: the command words first, then that command's
// options through node:util's parseArgs, then zod (options and environment together) into the
// settings a command runs with. Every problem is a CliUsageError or a ValidationError (exit 2).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatIssues, parseInput, ValidationError } from '@cairn/core';
import { SchemaNameSchema } from '@cairn/db';
import { RedisUrlSchema } from '@cairn/redis';
import { CliUsageError } from '../errors.js';

/** The commands, as typed. */
export const COMMANDS = ['migrate deploy', 'migrate status', 'doctor'] as const;
export type CommandName = (typeof COMMANDS)[number];

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of a string option's value, for the help text. */
  value?: string;
  help: string;
}

const URL_OPTION: OptionSpec = {
  type: 'string',
  value: '<url>',
  help: 'PostgreSQL URL to migrate (default: DIRECT_DATABASE_URL, else DATABASE_URL). Its ?schema= is honoured.',
};
const SCHEMA_OPTION: OptionSpec = {
  type: 'string',
  value: '<name>',
  help: "PostgreSQL schema of Cairn's tables and its _prisma_migrations (default: the URL's ?schema=, else public).",
};
const JSON_OPTION: OptionSpec = { type: 'boolean', help: 'Print one JSON document instead of text.' };
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'Show this help.' };

/** Each command's options, as parseArgs takes them (and the help text shows them). */
export const COMMAND_OPTIONS: Record<CommandName, Record<string, OptionSpec>> = {
  'migrate deploy': { url: URL_OPTION, schema: SCHEMA_OPTION, json: JSON_OPTION, help: HELP_OPTION },
  'migrate status': { url: URL_OPTION, schema: SCHEMA_OPTION, json: JSON_OPTION, help: HELP_OPTION },
  doctor: {
    url: { type: 'string', value: '<url>', help: 'PostgreSQL URL the application uses (default: DATABASE_URL).' },
    'direct-url': {
      type: 'string',
      value: '<url>',
      help: 'Direct PostgreSQL URL for migrations, when --url goes through PgBouncer (default: DIRECT_DATABASE_URL).',
    },
    schema: SCHEMA_OPTION,
    'redis-url': { type: 'string', value: '<url>', help: 'Redis URL to check (default: REDIS_URL; Redis is optional).' },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

/** Unset and empty environment variables are the same thing (`DATABASE_URL=` in a .env file). */
const envValue = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());

/** The environment variables the CLI reads. */
export const CliEnvSchema = z.object({
  DATABASE_URL: envValue,
  DIRECT_DATABASE_URL: envValue,
  REDIS_URL: envValue,
});
export type CliEnv = z.infer<typeof CliEnvSchema>;

const nonEmpty = z.string().min(1, 'must not be empty');

/** Settings of `migrate deploy` and `migrate status`. */
export const MigrateSettingsSchema = z.object({
  /** The URL migrations run against: --url, else DIRECT_DATABASE_URL, else DATABASE_URL. */
  url: nonEmpty.optional(),
  schema: SchemaNameSchema.optional(),
  json: z.boolean().default(false),
});
export type MigrateSettings = z.infer<typeof MigrateSettingsSchema>;

/** Settings of `doctor`. */
export const DoctorSettingsSchema = z.object({
  /** The application's URL: --url, else DATABASE_URL. */
  url: nonEmpty.optional(),
  /** The URL for migrations: --direct-url, else DIRECT_DATABASE_URL. */
  directUrl: nonEmpty.optional(),
  schema: SchemaNameSchema.optional(),
  redisUrl: RedisUrlSchema.optional(),
  json: z.boolean().default(false),
});
export type DoctorSettings = z.infer<typeof DoctorSettingsSchema>;

/** A parsed command line. */
export type ParsedCommand =
  | { kind: 'help'; command: CommandName | undefined }
  | { kind: 'version' }
  | { kind: 'migrate deploy' | 'migrate status'; settings: MigrateSettings }
  | { kind: 'doctor'; settings: DoctorSettings };

function commandOf(args: readonly string[]): { command: CommandName; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.split(' ');
    if (words.every((word, i) => args[i] === word)) return { command, rest: args.slice(words.length) };
  }
  return undefined;
}

function parseOptions(command: CommandName, args: string[]): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(
    Object.entries(COMMAND_OPTIONS[command]).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}) }]),
  );
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    // parseArgs' own message names the option ("Unknown option '--urll'", "Option '--url <value>' argument missing").
    throw new CliUsageError((cause as Error).message, { command, cause });
  }
}

/** Whether `name` is one of the commands. */
export function isCommandName(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly (string | undefined)[]).includes(name);
}

/** The first defined value among `candidates`, with the name of where it came from. */
function firstOf<T>(candidates: [string, T | undefined][]): { value: T | undefined; source: string | undefined } {
  const found = candidates.find(([, value]) => value !== undefined);
  return { value: found?.[1], source: found?.[0] };
}

/**
 * Validates `input` with `schema`; a problem becomes a CliUsageError naming the flag or variable the
 * bad value came from (`--redis-url: must be redis://, …`), not the setting's internal name.
 */
function settingsOf<S extends z.ZodType>(schema: S, picks: Record<string, { value: unknown; source: string | undefined }>, command: CommandName): z.output<S> {
  const input = Object.fromEntries(Object.entries(picks).map(([key, pick]) => [key, pick.value]));
  try {
    return parseInput(schema, input, `cairn ${command} options`);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((issue) => ({ ...issue, path: picks[issue.path]?.source ?? issue.path }));
    throw new CliUsageError(formatIssues(issues), { command, cause: error });
  }
}

/** Parses `argv` (without node and the script) with the environment. */
export function parseCommandLine(argv: readonly string[], environment: Readonly<Record<string, string | undefined>>): ParsedCommand {
  if (argv.length === 0) throw new CliUsageError('No command given.');
  const first = argv[0];
  if (argv.length === 1 && (first === '--help' || first === '-h' || first === 'help')) return { kind: 'help', command: undefined };
  if (argv.length === 1 && (first === '--version' || first === '-v')) return { kind: 'version' };
  const found = commandOf(argv);
  if (!found) {
    const typed = first === 'migrate' ? `migrate ${argv[1] ?? ''}`.trim() : first;
    throw new CliUsageError(`Unknown command '${typed}'.`);
  }
  const { command, rest } = found;
  const values = parseOptions(command, rest);
  if (values.help === true) return { kind: 'help', command };
  const env = parseInput(CliEnvSchema, environment, 'environment');
  const flag = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const json = { value: values.json === true, source: '--json' };
  const schema = { value: flag('schema'), source: '--schema' };
  if (command === 'doctor') {
    const settings = settingsOf(
      DoctorSettingsSchema,
      {
        url: firstOf([['--url', flag('url')], ['DATABASE_URL', env.DATABASE_URL]]),
        directUrl: firstOf([['--direct-url', flag('direct-url')], ['DIRECT_DATABASE_URL', env.DIRECT_DATABASE_URL]]),
        schema,
        redisUrl: firstOf([['--redis-url', flag('redis-url')], ['REDIS_URL', env.REDIS_URL]]),
        json,
      },
      command,
    );
    return { kind: 'doctor', settings };
  }
  const settings = settingsOf(
    MigrateSettingsSchema,
    {
      url: firstOf([['--url', flag('url')], ['DIRECT_DATABASE_URL', env.DIRECT_DATABASE_URL], ['DATABASE_URL', env.DATABASE_URL]]),
      schema,
      json,
    },
    command,
  );
  return { kind: command, settings };
}
