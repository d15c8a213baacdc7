// The package ships prisma/ (copied from the repository's prisma/ by its build), so turbo must
// treat that copy as an output and the repository's schema and migrations as inputs. Otherwise a
// cache hit (a fresh checkout, CI with a shared cache) restores dist/ without prisma/ and the
// packed @cairn/db has no migrations, or a new migration leaves the cached copy without it.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface DryRunTask {
  taskId: string;
  inputs: Record<string, string>;
  outputs: string[];
}

async function buildTask(): Promise<DryRunTask> {
  const { stdout } = await run(path.join(ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--filter', '@cairn/db', '--dry=json'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const task = (JSON.parse(stdout) as { tasks: DryRunTask[] }).tasks.find((t) => t.taskId === '@cairn/db#build');
  if (!task) throw new Error('turbo planned no @cairn/db#build');
  return task;
}

describe("turbo's build of @cairn/db", () => {
  it('caches the copied prisma/ with dist/ and re-runs when the schema or a migration changes', async () => {
    const task = await buildTask();
    expect(task.outputs).toEqual(expect.arrayContaining(['dist/**', 'prisma/**']));
    const migrations = await readdir(path.join(ROOT, 'prisma', 'migrations'), { recursive: true, withFileTypes: true });
    const migrationFiles = migrations
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(path.join(ROOT, 'packages', 'db'), path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    expect(migrationFiles.length).toBeGreaterThan(1);
    expect(Object.keys(task.inputs)).toEqual(expect.arrayContaining(['../../prisma/schema.prisma', ...migrationFiles]));
  }, 60_000);
});
