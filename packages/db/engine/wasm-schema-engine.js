// The official Prisma schema engine (compiled to WASM) driven through @prisma/adapter-pg, so that
// migrations run on machines that cannot download the native engine binary. Shared by the stdio
// shim the Prisma CLI spawns (schema-engine-shim.js) and by @cairn/db's in-process migrate().
//
// Plain JavaScript on purpose: the CLI executes the shim directly with Node, before any build step.
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

/** PostgreSQL's internal single-byte `"char"` type, returned by catalog queries the engine runs. */
const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * @prisma/adapter-pg cannot deserialize `"char"` (OID 18) columns, which the engine's introspection
 * reads from pg_catalog. The values already arrive as strings, so report them as text.
 */
function charColumnsAsText(result) {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of r?.fields ?? []) if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
  }
  return result;
}

class CharAsTextClient extends pg.Client {
  query(...args) {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err, res) => last(err, err ? res : charColumnsAsText(res));
      return super.query(...args);
    }
    const first = args[0];
    if (first && typeof first.callback === 'function') {
      const cb = first.callback;
      first.callback = (err, res) => cb(err, err ? res : charColumnsAsText(res));
      return super.query(...args);
    }
    const ret = super.query(...args);
    return ret && typeof ret.then === 'function' ? ret.then(charColumnsAsText) : ret;
  }
}

/** Splits a postgres URL into node-postgres settings and Prisma's `schema` parameter. */
export function parseEngineUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw Object.assign(new Error('The datasource URL is not a valid URL.'), { errorCode: 'P1013' });
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw Object.assign(new Error(`The datasource URL must start with postgresql://, got ${parsed.protocol}//`), {
      errorCode: 'P1013',
    });
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema, database: decodeURIComponent(parsed.pathname.slice(1)) };
}

function withDatabase(connectionString, database) {
  const u = new URL(connectionString);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function runAdminStatement(connectionString, sql) {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A migration-aware adapter factory. It replaces adapter-pg's own connectToShadowDb, which (7.10)
 * connects the "shadow" pool to the main database when given a connection string and drops the
 * shadow database before closing its pool.
 */
export function createMigrationAdapterFactory(url) {
  const { connectionString, schema } = parseEngineUrl(url);
  const adapterOptions = schema ? { schema } : undefined;
  // Unqualified migration SQL lands in the first schema of the search path.
  const searchPath = schema && schema !== 'public' ? { options: `-c search_path=${schema},public` } : {};
  const main = new PrismaPg({ connectionString, Client: CharAsTextClient, allowExitOnIdle: true, ...searchPath }, adapterOptions);
  const open = new Set();
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    async connect() {
      const adapter = await main.connect();
      const dispose = adapter.dispose.bind(adapter);
      let disposed;
      adapter.dispose = () => {
        open.delete(adapter);
        disposed ??= dispose();
        return disposed;
      };
      open.add(adapter);
      return adapter;
    },
    /** Ends the pools the engine did not dispose itself (it keeps its main connection open). */
    async disposeAll() {
      await Promise.allSettled([...open].map((adapter) => adapter.dispose()));
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
      await runAdminStatement(connectionString, `CREATE DATABASE "${name}"`);
      const shadow = new PrismaPg(
        { connectionString: withDatabase(connectionString, name), Client: CharAsTextClient, allowExitOnIdle: true, ...searchPath },
        adapterOptions,
      );
      const adapter = await shadow.connect();
      const disposePool = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await disposePool();
        await runAdminStatement(connectionString, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      return adapter;
    },
  };
}

let wasmModulePromise;
let lastPanicMessage;

/** Loads the wasm-bindgen "bundler" build in Node (it expects a bundler to wire the imports). */
function loadWasmModule() {
  wasmModulePromise ??= (async () => {
    globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message(message) {
        lastPanicMessage = message;
      },
    };
    const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(bgPath), 'schema_engine_bg.wasm'));
    // The engine arms timeouts (connect, query) that it never clears; they must not keep a
    // process alive after its work is done, so hand it unref'd timers.
    const imports = { ...bg };
    for (const name of Object.keys(bg)) {
      if (name.startsWith('__wbg_setTimeout_')) {
        imports[name] = (callback, ms) => {
          const timer = setTimeout(callback, ms >>> 0);
          timer.unref?.();
          return timer;
        };
      }
    }
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': imports });
    bg.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return bg;
  })();
  return wasmModulePromise;
}

export async function wasmEngineVersion() {
  return (await loadWasmModule()).version();
}

export function takePanicMessage() {
  const m = lastPanicMessage;
  lastPanicMessage = undefined;
  return m;
}

/**
 * Opens the WASM schema engine against `url` with the given schema files ([path, content] pairs).
 * The returned object exposes the engine's JSON-RPC methods as async functions; `createMigration`
 * and `diff` are served with the hand-written-index and extension drift removed (see filterScript).
 */
export async function openSchemaEngine({ url, datamodels, log }) {
  const bg = await loadWasmModule();
  const adapters = createMigrationAdapterFactory(url);
  const engine = await bg.SchemaEngine.new({ datamodels: datamodels?.length ? datamodels : undefined }, (message) => log?.(message), bindMigrationAwareSqlAdapterFactory(adapters));
  return new CairnSchemaEngine(engine, adapters, url);
}

/**
 * The migrations that own the hand-written indexes, for requests that carry no migrations list
 * (`db push`, `migrate diff --from-config-datasource`): CAIRN_MIGRATIONS_DIR (prisma.config.ts sets
 * it to the config's migrations path), else Prisma's default, `migrations/` beside the schema.
 */
async function migrationsBeside(schemaFiles) {
  const first = schemaFiles?.[0]?.path;
  const dir = process.env.CAIRN_MIGRATIONS_DIR ?? (first ? join(dirname(first), 'migrations') : undefined);
  return dir ? readMigrationsList(dir) : { migrationDirectories: [] };
}

class CairnSchemaEngine {
  constructor(engine, adapters, url) {
    this.engine = engine;
    this.adapters = adapters;
    this.url = url;
  }

  async call(method, params) {
    if (method === 'createMigration') return this.createMigration(params);
    if (method === 'diff') return this.diff(params);
    if (method === 'schemaPush') return this.schemaPush(params);
    if (method === 'evaluateDataLoss') return this.evaluateDataLoss(params);
    if (typeof this.engine[method] !== 'function') {
      throw Object.assign(new Error(`Unknown schema engine method: ${method}`), { errorCode: 'P1012' });
    }
    return this.engine[method](params ?? {});
  }

  /** The next migration's SQL: the engine's diff from the migrations to the schema, drift removed. */
  async nextMigrationScript(migrationsList, schema, filters) {
    const from = migrationsList.migrationDirectories.length === 0 ? { tag: 'empty' } : { tag: 'migrations', ...migrationsList };
    const result = await this.engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: schema.files },
      script: true,
      exitCode: null,
      filters,
    });
    return filterScript(result.stdout ?? '', driftAllowances(migrationsList));
  }

  /** The WASM build cannot create PostgreSQL migrations itself; derive them from `diff`. */
  async createMigration({ draft, migrationName, migrationsList, schema, filters }) {
    const script = await this.nextMigrationScript(migrationsList, schema, filters);
    const empty = isEmptyScript(script);
    return {
      connectorType: 'postgresql',
      generatedMigrationName: `${migrationTimestamp(new Date())}_${migrationName}`,
      migrationScript: empty && !draft ? null : empty ? '-- This is an empty migration.' : script,
      extension: 'sql',
    };
  }

  /**
   * The WASM build has no shadow database of its own for this check either. Served from the same
   * diff: one step per statement, and a warning for each statement that destroys data.
   */
  async evaluateDataLoss({ migrationsList, schema, filters }) {
    const statements = sqlStatements(await this.nextMigrationScript(migrationsList, schema, filters));
    const warnings = [];
    statements.forEach((statement, stepIndex) => {
      const destructive = DESTRUCTIVE.find(([pattern]) => pattern.test(statement));
      if (destructive) warnings.push({ message: `${destructive[1]}: ${statement.replace(/\s+/g, ' ').slice(0, 200)}`, stepIndex });
    });
    return { migrationSteps: statements.length, unexecutableSteps: [], warnings };
  }

  /**
   * Diffs from the migrations or from the live database (`--from-config-datasource`) would drop the
   * hand-written indexes the migrations created (the engine cannot see them in the schema): they
   * are left out, with the repeated CREATE EXTENSION.
   */
  async diff(params) {
    const result = await this.engine.diff(params);
    const from = params.from?.tag;
    if (!params.script || (from !== 'migrations' && from !== 'schemaDatasource') || result.stdout == null) return result;
    const allowances = driftAllowances(from === 'migrations' ? params.from : await migrationsBeside(params.from.files ?? params.to?.files));
    const script = filterScript(result.stdout, allowances);
    const empty = isEmptyScript(script);
    return {
      exitCode: params.exitCode && !empty ? 2 : 0,
      stdout: empty ? '-- This is an empty migration.\n' : script,
    };
  }

  /**
   * `prisma db push`. The engine's own push would drop every index the schema cannot express
   * (the GIN index on documents.tsv among them), so when the push would drop one of the migrations'
   * hand-written indexes, Cairn pushes instead: the same diff from the database to the schema,
   * those drops left out, refused on data loss unless forced (`--accept-data-loss`), run in one
   * transaction. Otherwise the engine pushes as it always does.
   */
  async schemaPush(params) {
    const files = params.schema?.files ?? [];
    const raw = await this.engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: files[0]?.path ? dirname(files[0].path) : process.cwd() },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      shadowDatabaseUrl: null,
      exitCode: null,
      filters: params.filters ?? EMPTY_FILTERS,
    });
    const allowances = driftAllowances(await migrationsBeside(files));
    const script = filterScript(raw.stdout ?? '', allowances);
    if (script === filterScript(raw.stdout ?? '', { manualIndexes: new Set(), extensions: allowances.extensions })) {
      return this.engine.schemaPush(params);
    }
    const statements = sqlStatements(script);
    const warnings = statements.flatMap((statement) => {
      const destructive = DESTRUCTIVE.find(([pattern]) => pattern.test(statement));
      return destructive ? [`${destructive[1]}: ${statement.replace(/\s+/g, ' ').slice(0, 200)}`] : [];
    });
    if (warnings.length > 0 && !params.force) return { executedSteps: 0, warnings, unexecutable: [] };
    if (statements.length > 0) {
      const { connectionString, schema } = parseEngineUrl(this.url);
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000, ...(schema && schema !== 'public' ? { options: `-c search_path=${schema},public` } : {}) });
      await client.connect();
      try {
        await client.query('BEGIN');
        for (const statement of statements) await client.query(statement);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        await client.end();
      }
    }
    return { executedSteps: statements.length, warnings, unexecutable: [] };
  }

  /** Frees the engine and ends every connection it opened. */
  async close() {
    this.engine.free?.();
    await this.adapters.disposeAll();
  }
}

function migrationTimestamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

const MANUAL_INDEX = /--\s*cairn:manual-index[^\n]*\n\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z0-9_]+)"?/gi;
const CREATE_EXTENSION = /CREATE\s+EXTENSION\s+IF\s+NOT\s+EXISTS\s+"?([A-Za-z0-9_]+)"?/gi;

/**
 * What the committed migrations already own and the schema cannot express: indexes written by hand
 * (marked `-- cairn:manual-index`) and extensions already created.
 */
export function driftAllowances(migrationsList) {
  const manualIndexes = new Set();
  const extensions = new Set();
  for (const dir of migrationsList.migrationDirectories ?? []) {
    const content = dir.migrationFile?.content;
    if (content?.tag !== 'ok') continue;
    for (const m of content.value.matchAll(MANUAL_INDEX)) manualIndexes.add(m[1]);
    for (const m of content.value.matchAll(CREATE_EXTENSION)) extensions.add(m[1]);
  }
  return { manualIndexes, extensions };
}

/**
 * Removes from an engine-generated script the statements that would undo what `driftAllowances`
 * found: `DROP INDEX` of a hand-written index and a repeated `CREATE EXTENSION`. Prisma writes one
 * statement per line, each block headed by a `-- Kind` comment; emptied blocks are removed whole.
 */
export function filterScript(script, { manualIndexes, extensions }) {
  const blocks = script.split(/\n\s*\n/);
  const kept = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((line) => {
      const drop = /^\s*DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?:"[^"]+"\.)?"?([A-Za-z0-9_]+)"?\s*;\s*$/i.exec(line);
      if (drop && manualIndexes.has(drop[1])) return false;
      const ext = /^\s*CREATE\s+EXTENSION\s+IF\s+NOT\s+EXISTS\s+"?([A-Za-z0-9_]+)"?[^;]*;\s*$/i.exec(line);
      if (ext && extensions.has(ext[1])) return false;
      return true;
    });
    if (lines.some((l) => l.trim() !== '' && !l.trim().startsWith('--'))) kept.push(lines.join('\n'));
  }
  return kept.length === 0 ? '' : `${kept.join('\n\n').trim()}\n`;
}

const DESTRUCTIVE = [
  [/^DROP\s+TABLE/i, 'A table and all its rows will be dropped'],
  [/\bDROP\s+COLUMN\b/i, 'A column and its values will be dropped'],
  [/\bALTER\s+COLUMN\b[^;]*\bTYPE\b/i, 'A column type will change; existing values may not convert'],
  [/\bSET\s+NOT\s+NULL\b/i, 'A column becomes required; existing NULLs will make this fail'],
  [/^DROP\s+TYPE/i, 'An enum type will be dropped'],
];

function sqlStatements(script) {
  return script
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function isEmptyScript(script) {
  return script
    .split('\n')
    .every((l) => l.trim() === '' || l.trim().startsWith('--'));
}

/** Reads a Prisma migrations directory into the engine's MigrationList shape. */
export async function readMigrationsList(migrationsDir) {
  let entries = [];
  try {
    entries = await readdir(migrationsDir);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  const migrationDirectories = [];
  for (const name of entries.sort()) {
    const full = join(migrationsDir, name);
    if (!(await stat(full)).isDirectory()) continue;
    let content;
    try {
      content = { tag: 'ok', value: await readFile(join(full, 'migration.sql'), 'utf8') };
    } catch (err) {
      content = { tag: 'error', value: String(err.message) };
    }
    migrationDirectories.push({ path: name, migrationFile: { path: 'migration.sql', content } });
  }
  let lockContent = null;
  try {
    lockContent = await readFile(join(migrationsDir, 'migration_lock.toml'), 'utf8');
  } catch {
    lockContent = null;
  }
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

export const EMPTY_FILTERS = Object.freeze({ externalTables: [], externalEnums: [] });
