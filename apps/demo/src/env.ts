// The demo's one view of its environment: every variable it reads, validated together so a bad
// setting reports every problem at once. Only entry points (main, seed) call this.
import { z } from 'zod';
import { parseInput } from '@cairn/cairn';

// An empty variable (`FOO=`) counts as unset, as it does in most shells' `${FOO:-default}`.
const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const url = (protocols: readonly string[]) =>
  optionalString.refine(
    (value) => value === undefined || (URL.canParse(value) && protocols.includes(new URL(value).protocol)),
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

/** The environment variables the demo understands. Unknown variables are ignored. */
export const DemoEnvSchema = z.object({
  /** PostgreSQL URL. Unset: the embedded database under CAIRN_DATA_DIR. */
  DATABASE_URL: url(['postgresql:', 'postgres:']),
  /** Redis URL. Unset: no cache, change notifications over PostgreSQL LISTEN/NOTIFY. */
  REDIS_URL: url(['redis:', 'rediss:']),
  /** Prefix of every Redis key and channel, so several apps (or demos) can share one Redis. @defaultValue 'cairn:' */
  REDIS_KEY_PREFIX: optionalString.pipe(
    z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
      .optional(),
  ),
  /** Where the embedded database lives. @defaultValue '.cairn/pglite' (relative to apps/demo) */
  CAIRN_DATA_DIR: optionalString,
  /** Tenant every request works in. @defaultValue 'default' */
  CAIRN_TENANT: optionalString,
  /** Address the web server binds to. @defaultValue '127.0.0.1' */
  HOST: optionalString.transform((value) => value ?? '127.0.0.1'),
  /** Port of the web server; 0 picks a free one. Unset: 3000, or a free port when 3000 is taken. */
  PORT: optionalString
    .transform((value) => (value === undefined ? undefined : Number(value)))
    .pipe(z.number().int().min(0).max(65535).optional()),
  /** Seed sample data on start when the database has none. @defaultValue true */
  CAIRN_SEED: optionalString
    .transform((value) => value === undefined || !['0', 'false', 'no', 'off'].includes(value.toLowerCase())),
  /** An OpenAI-compatible endpoint (OpenAI, Ollama, vLLM) to let a real model write the answers. */
  OPENAI_BASE_URL: url(['http:', 'https:']),
  OPENAI_API_KEY: optionalString,
  /** Chat model name for OPENAI_BASE_URL. @defaultValue 'gpt-4o-mini' */
  OPENAI_MODEL: optionalString.transform((value) => value ?? 'gpt-4o-mini'),
  /** Directory relative CLI paths resolve against: pnpm sets it to where the command was typed. */
  INIT_CWD: optionalString,
  /** Server log level (pino): fatal, error, warn, info, debug, trace or silent. @defaultValue 'warn' */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  /** Set by CI runners; turns the progress bar into plain lines. */
  CI: optionalString,
});

/** The validated environment. */
export type DemoEnv = z.output<typeof DemoEnvSchema>;

/** Reads and validates the environment; throws a ValidationError listing every bad variable. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): DemoEnv {
  return parseInput(DemoEnvSchema, source, 'environment');
}
