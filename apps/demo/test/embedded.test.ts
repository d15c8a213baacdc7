// `pnpm demo` with nothing configured: the entry point starts the embedded database (PGlite +
// pgvector, migrated), seeds it, serves the page and prints the URL; SIGTERM stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

let child: ChildProcess | undefined;
let dataDir: string;
let url: string;
let output = '';

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cairn-demo-embedded-'));
  // No DATABASE_URL / REDIS_URL: the demo must start on the embedded database.
  const { DATABASE_URL: _db, REDIS_URL: _redis, NODE_OPTIONS: _options, ...env } = process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=@cairn/source', 'src/main.ts'], {
    cwd: APP_DIR,
    env: { ...env, PORT: '0', CAIRN_DATA_DIR: path.join(dataDir, 'pglite'), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Cairn demo running at (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`the demo exited with ${code} before serving:\n${output}`)));
  });
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('the demo on the embedded database', () => {
  it('prints a localhost URL whose page answers', async () => {
    expect(url).toMatch(/^http:\/\/localhost:\d+\/$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Cairn demo</title>');
    expect(output).toContain('Seeded sample data: 6 documents, 1 thread(s).');
  });

  it('runs on PGlite with pgvector, with the sample thread and documents seeded', async () => {
    const health = (await (await fetch(new URL('api/health', url))).json()) as { ok: boolean; postgres: { embedded: boolean }; pgvector: { version: string } };
    expect(health).toMatchObject({ ok: true, postgres: { embedded: true } });
    expect(health.pgvector.version).toMatch(/^0\.8/);
    const checkpoints = (await (await fetch(new URL('api/threads/welcome/checkpoints', url))).json()) as { checkpoints: unknown[] };
    expect(checkpoints.checkpoints).toHaveLength(6);
    const search = await fetch(new URL('api/search', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'cairns mark trails', k: 1 }),
    });
    expect(((await search.json()) as { results: { sourceId: string }[] }).results[0]?.sourceId).toBe('sample-trail-cairns');
  });

  it('stops cleanly on SIGTERM and releases the database', async () => {
    const proc = child!;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'pglite.server.json'))).toBe(false);
  });
});
