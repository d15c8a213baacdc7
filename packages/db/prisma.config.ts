// Configuration for the stock Prisma CLI (`pnpm db:*` at the repo root runs it from here).
// Prisma 7 loads no .env by itself and this file is an entry point, so it is the one place that
// reads the environment for the CLI.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

// A .env at the repository root, if present; real environment variables win.
const dotenv = path.join(root, '.env');
if (existsSync(dotenv)) {
  for (const line of readFileSync(dotenv, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && m[1] && process.env[m[1]] === undefined) process.env[m[1]] = (m[2] ?? '').replace(/^(['"])(.*)\1$/, '$2');
  }
}

// The native engine cannot be downloaded on every machine; the WASM engine behind this shim is
// the same engine (pinned to the engines-version this CLI expects), answering the same protocol.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(here, 'engine', 'schema-engine-shim.js');
// `db push` and `migrate diff --from-config-datasource` carry no migrations list; the shim reads the
// hand-written indexes (which those must not drop) from here.
process.env.CAIRN_MIGRATIONS_DIR ??= path.join(root, 'prisma', 'migrations');
// The schema's `rows` generator (raw-SQL row types); an absolute command, whatever the CLI's cwd.
process.env.CAIRN_ROW_TYPES_GENERATOR ??= `node ${JSON.stringify(path.join(here, 'generator', 'row-types.js'))}`;

// Migrations need a session of their own (the engine holds an advisory lock for the whole run),
// which PgBouncer in transaction pooling cannot give: DIRECT_DATABASE_URL wins when set.
const url = process.env.DIRECT_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/cairn_dev';
if (/[?&]pgbouncer=true(&|$)/.test(url)) {
  throw new Error('DATABASE_URL goes through PgBouncer (pgbouncer=true): set DIRECT_DATABASE_URL to a direct PostgreSQL URL for the Prisma CLI.');
}

export default defineConfig({
  schema: path.join(root, 'prisma', 'schema.prisma'),
  migrations: {
    path: path.join(root, 'prisma', 'migrations'),
    seed: `node ${path.join(root, 'prisma', 'seed.mjs')}`,
  },
  datasource: {
    url,
    ...(process.env.SHADOW_DATABASE_URL ? { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL } : {}),
  },
});
