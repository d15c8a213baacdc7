#!/usr/bin/env node
// The demo's entry point: `serve` (the default) starts the web app; `ingest`, `search` and `seed`
// are the scripted CLI. The one place that reads the environment (through env.ts).
import { parseArgs } from 'node:util';
import { formatCliError } from './cli-errors.js';
import { runIngest, runSearch, type CliIo } from './cli.js';
import { readEnv, type DemoEnv } from './env.js';
import { modelFromEnv, openCairn, removeServerFile, writeServerFile } from './open-cairn.js';
import { seedDemo } from './seed.js';
import { buildServer, listen } from './server.js';

const DEFAULT_PORT = 3000;

const USAGE = `Cairn demo

  pnpm demo                                start the web app (embedded database unless DATABASE_URL is set)
  pnpm demo -- ingest <file|dir>... [--tags a,b]
                                           chunk, embed and store text files (.md .txt ...), with a progress bar
  pnpm demo -- search "<query>" [--mode hybrid|vector|text] [--k 5] [--source <id>]
  pnpm demo -- seed                        add the sample data (also done on first start)

Options of the web app: --port <n> (env PORT; default 3000, or a free port when 3000 is taken; 0 picks a free port), --host <addr> (env HOST),
--no-seed (env CAIRN_SEED=false). Environment: DATABASE_URL, REDIS_URL, CAIRN_DATA_DIR, OPENAI_BASE_URL,
OPENAI_API_KEY, OPENAI_MODEL, REDIS_KEY_PREFIX, LOG_LEVEL (debug or trace: errors with their stack traces).
`;

async function serve(env: DemoEnv, flags: { port?: string | undefined; host?: string | undefined; seed: boolean }, io: CliIo): Promise<void> {
  const port = flags.port !== undefined ? Number(flags.port) : env.PORT;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new CliUsageError('--port must be a port number (0-65535)');
  }
  const host = flags.host ?? env.HOST;
  io.err(env.DATABASE_URL ? 'Connecting to PostgreSQL…' : 'Starting the embedded PostgreSQL (PGlite + pgvector)…');
  const cairn = await openCairn(env);
  let closing: Promise<void> | undefined;
  try {
    if (flags.seed && env.CAIRN_SEED) {
      const seeded = await seedDemo(cairn);
      if (seeded.created) io.err(`Seeded sample data: ${seeded.documents} documents, ${seeded.threads} thread(s).`);
    }
    const { app } = await buildServer(cairn, { model: modelFromEnv(env), logger: { level: env.LOG_LEVEL } });
    // No port asked for: 3000, or any free port when something else holds 3000.
    const url = await listen(app, { host, port: port ?? DEFAULT_PORT }).catch(async (error: NodeJS.ErrnoException) => {
      if (port !== undefined || error.code !== 'EADDRINUSE') throw error;
      io.err(`Port ${DEFAULT_PORT} is in use; picking a free one.`);
      return listen(app, { host, port: 0 });
    });
    if (env.DATABASE_URL === undefined) await writeServerFile(env, url);
    const health = await cairn.health();
    io.out(`\nCairn demo running at ${url}\n`);
    io.err(
      `  PostgreSQL ${health.postgres.version ?? '?'}${health.postgres.embedded ? ' (embedded)' : ''}, pgvector ${health.pgvector.version ?? 'missing'}, ` +
        `Redis ${health.redis.configured ? (health.redis.ok ? 'connected' : 'unreachable') : 'not configured'}, ` +
        `notifications over ${health.notifications.transport}.\n  OpenAPI: ${url}openapi.json   Press Ctrl+C to stop.`,
    );
    const shutdown = (signal: string) => {
      closing ??= (async () => {
        io.err(`\n${signal}: shutting down…`);
        await app.close();
        await cairn.close();
        if (env.DATABASE_URL === undefined) await removeServerFile(env);
      })();
      closing.catch((error: unknown) => {
        io.err(`Shutdown failed: ${(error as Error).message}`);
        process.exitCode = 1;
      });
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  } catch (error) {
    await cairn.close().catch(() => undefined);
    throw error;
  }
}

/** A command line that cannot be run as typed (exit code 2). */
class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** The validated environment, once read: decides whether errors print their stack. */
let knownEnv: DemoEnv | undefined;

/** Runs the command line; returns the exit code. */
async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // `pnpm demo -- ingest x` hands us a leading `--`.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'no-seed': { type: 'boolean', default: false },
        tags: { type: 'string' },
        mode: { type: 'string', default: 'hybrid' },
        k: { type: 'string', default: '5' },
        source: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // node:util's message ("Unknown option '--x'. To specify a positional argument starting with a '-' ...") is enough.
    throw new CliUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command = 'serve', ...rest] = positionals;
  if (values.help || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  const env = readEnv();
  knownEnv = env;
  switch (command) {
    case 'serve':
      await serve(env, { port: values.port, host: values.host, seed: !values['no-seed'] }, io);
      return 0;
    case 'ingest':
      return runIngest(env, rest, { tags: values.tags }, io);
    case 'search':
      return runSearch(env, rest.join(' '), { mode: values.mode, k: values.k, source: values.source }, io);
    case 'seed': {
      const cairn = await openCairn(env);
      try {
        const seeded = await seedDemo(cairn);
        io.out(seeded.created ? `Seeded ${seeded.documents} documents and ${seeded.threads} thread(s).` : 'Sample data already present; nothing to do.');
      } finally {
        await cairn.close();
      }
      return 0;
    }
    default:
      io.err(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
      return 2;
  }
}

const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: process.stderr,
};

main(process.argv.slice(2), io).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    const stack = knownEnv?.LOG_LEVEL === 'debug' || knownEnv?.LOG_LEVEL === 'trace';
    io.err(formatCliError(error, { stack }));
    if (error instanceof CliUsageError) io.err('Run with --help for the commands and options.');
    process.exitCode = error instanceof CliUsageError ? 2 : 1;
  },
);
