// The code examples of the root README and of this package's README, run as written, each in a
// process of its own against a fresh database and a private Redis: documentation that cannot rot.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { startRedisServer, type DisposableRedisServer } from '@cairn/redis/testing';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The first ```ts block of a Markdown file. */
async function firstTypeScriptBlock(file: string): Promise<string> {
  const text = await readFile(file, 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(text);
  if (!match) throw new Error(`${file} has no \`\`\`ts block`);
  return match[1]!;
}

let database: TestDatabase;
let redis: DisposableRedisServer;
let workDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  redis = await startRedisServer();
  // Inside the package, so `import ... from '@cairn/cairn'` resolves to this package (self-reference).
  workDir = await mkdtemp(path.join(PACKAGE_DIR, 'test', '.tmp-readme-'));
});

afterAll(async () => {
  await redis?.stop();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function runExample(readme: string, name: string): Promise<string> {
  const file = path.join(workDir, `${name}.ts`);
  await writeFile(file, await firstTypeScriptBlock(readme));
  const { NODE_OPTIONS: _jestOptions, ...env } = process.env;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=@cairn/source', file], {
    cwd: PACKAGE_DIR,
    env: { ...env, DATABASE_URL: database.url, REDIS_URL: redis.url },
    timeout: 60_000,
  });
  return stdout;
}

describe('README examples', () => {
  it('runs the package README example', async () => {
    const output = await runExample(path.join(PACKAGE_DIR, 'README.md'), 'package-readme');
    expect(output).toContain("messages: [ 'hi', 'hello' ]");
    // The example's own query finds its document with the default (lexical) embedder.
    expect(Number(/'hello' \] \} ([\d.e-]+)/.exec(output)?.[1])).toBeGreaterThan(0);
    expect(output).toMatch(/status: 'ok'/);
  });

  it('runs the root README example', async () => {
    const output = await runExample(path.join(PACKAGE_DIR, '..', '..', 'README.md'), 'root-readme');
    expect(Number(/'hello' \] \} ([\d.e-]+)/.exec(output)?.[1])).toBeGreaterThan(0);
    expect(output).toMatch(/status: 'ok'/);
  });
});
