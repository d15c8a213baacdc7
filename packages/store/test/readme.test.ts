// The README's first example, run as written in a process of its own against a fresh database:
// documentation that cannot rot. It is also examples/quickstart.ts, word for word.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = path.join(PACKAGE_DIR, 'examples', 'quickstart.ts');

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('README example', () => {
  it('is examples/quickstart.ts', async () => {
    const readme = await readFile(path.join(PACKAGE_DIR, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(await readFile(EXAMPLE, 'utf8'));
  });

  it('prints what its comments say', async () => {
    const { NODE_OPTIONS: _jestOptions, ...env } = process.env;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=@cairn/source', EXAMPLE], {
      cwd: PACKAGE_DIR,
      env: { ...env, DATABASE_URL: database.directUrl },
      timeout: 60_000,
    });
    expect(stdout.trim().split('\n')).toEqual(['dog 0.80', "[ 'food' ]", "[ [ 'memories', 'user-1' ] ]"]);
  });
});
