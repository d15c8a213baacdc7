// `pnpm demo` on a DATABASE_URL without Cairn's migrations: the entry point refuses it before touching
// a table, says how to migrate, exits 1, and prints no stack trace (and none of the driver's
// `relation "objects" does not exist`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await database?.drop();
});

function runDemo(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { NODE_OPTIONS: _options, REDIS_URL: _redis, ...inherited } = process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=@cairn/source', 'src/main.ts'], {
    cwd: APP_DIR,
    env: { ...inherited, PORT: '0', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, output })));
}

describe('an unmigrated DATABASE_URL', () => {
  it('is refused with how to migrate, exit code 1 and no stack trace', async () => {
    const { code, output } = await runDemo({ DATABASE_URL: database.url });
    expect(code).toBe(1);
    expect(output).toContain("none of Cairn's tables");
    expect(output).toContain('cairn migrate deploy');
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('does not exist');
  }, 60_000);
});
