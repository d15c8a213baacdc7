#!/usr/bin/env node
// An executable the stock Prisma CLI runs as its schema engine (named by PRISMA_SCHEMA_ENGINE_BINARY
// in prisma.config.ts). It speaks the native engine's stdio protocol (JSON-RPC 2.0, one object per
// line) and answers from the official WASM engine, so `prisma migrate dev|deploy|status|reset`
// work without downloading the native binary.
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { openSchemaEngine, parseEngineUrl, takePanicMessage, wasmEngineVersion } from './wasm-schema-engine.js';

const argv = process.argv.slice(2);

function option(name) {
  const values = [];
  for (let i = 0; i < argv.length; i++) if (argv[i] === name && i + 1 < argv.length) values.push(argv[i + 1]);
  return values;
}

function logLine(level, fields) {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, fields, target: 'schema_engine::logger' })}\n`);
}

/** Maps a node-postgres connection failure onto Prisma's P1xxx codes, which the CLI understands. */
function connectionErrorCode(err, database) {
  switch (err.code) {
    case '3D000':
      return { code: 'P1003', message: `Database \`${database}\` does not exist on the database server.` };
    case '28P01':
    case '28000':
      return { code: 'P1000', message: `Authentication failed against the database server: ${err.message}` };
    default:
      return { code: 'P1001', message: `Can't reach the database server: ${err.message}` };
  }
}

async function oneShot(command, url) {
  const { connectionString, database } = parseEngineUrl(url);
  // The CLI skips the first stderr line before it parses JSON log lines.
  logLine('INFO', { message: `schema-engine-wasm ${command}` });
  try {
    if (command === 'can-connect-to-database') {
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
      await client.connect();
      await client.end();
    } else if (command === 'create-database') {
      const admin = new URL(connectionString);
      admin.pathname = '/postgres';
      const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
    } else if (command === 'drop-database') {
      const admin = new URL(connectionString);
      admin.pathname = '/postgres';
      const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    } else {
      logLine('ERROR', { error_code: 'P1012', message: `Unknown schema engine cli command: ${command}` });
      process.exit(1);
    }
    process.exit(0);
  } catch (err) {
    const { code, message } = err.errorCode ? { code: err.errorCode, message: err.message } : connectionErrorCode(err, database);
    logLine('ERROR', { error_code: code, message });
    process.exit(1);
  }
}

function rpcError(err) {
  const panic = takePanicMessage();
  const message = panic ?? err?.message ?? String(err);
  const errorCode = err?.errorCode ?? err?.error_code ?? err?.code;
  return {
    code: 4466,
    message: 'An error happened. Check the data field for details.',
    data: {
      is_panic: panic !== undefined,
      message,
      ...(typeof errorCode === 'string' && /^P\d{4}$/.test(errorCode) ? { error_code: errorCode } : {}),
      meta: err?.meta ?? null,
    },
  };
}

async function serve() {
  const datasource = JSON.parse(option('--datasource')[0] ?? '{}');
  if (!datasource.url) {
    logLine('ERROR', { error_code: 'P1012', message: 'No datasource URL: set datasource.url in prisma.config.ts' });
    process.exit(1);
  }
  const datamodels = await Promise.all(option('--datamodels').map(async (file) => [file, await readFile(file, 'utf8')]));
  const engine = await openSchemaEngine({
    url: datasource.url,
    datamodels,
    log: (message) => process.stderr.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`),
  });

  const pending = new Set();
  let printed = 0;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      return;
    }
    if (!request.method) return; // an answer to a `print` request of ours
    const work = (async () => {
      try {
        let result = (await engine.call(request.method, request.params)) ?? {};
        if (request.method === 'diff' && typeof result.stdout === 'string') {
          // The native engine prints a diff through the CLI (a `print` request the CLI writes to
          // its stdout) and returns only the exit code; the WASM build returns the text instead.
          const { stdout, ...rest } = result;
          if (stdout !== '') {
            const print = { jsonrpc: '2.0', id: `print-${++printed}`, method: 'print', params: { content: stdout.replace(/\n$/, '') } };
            process.stdout.write(`${JSON.stringify(print)}\n`);
          }
          result = rest;
        }
        process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, result })}\n`);
      } catch (err) {
        process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, error: rpcError(err) })}\n`);
      }
    })();
    pending.add(work);
    work.finally(() => pending.delete(work));
  });
  lines.on('close', async () => {
    await Promise.allSettled([...pending]);
    await engine.close();
    process.exit(0);
  });
}

if (argv.includes('--version') || argv.includes('-V')) {
  process.stdout.write(`schema-engine-wasm ${await wasmEngineVersion()}\n`);
} else if (argv.includes('cli')) {
  const datasource = JSON.parse(option('--datasource')[0] ?? '{}');
  await oneShot(argv[argv.indexOf('cli') + 1], datasource.url ?? '');
} else {
  await serve();
}
