// Test support: runs the stock Prisma CLI of this package asynchronously (a synchronous child would
// deadlock an embedded server hosted by the test process) and captures its output, and makes scratch
// copies of prisma/ whose generators write beside them instead of over the real client.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PRISMA_CLI = path.join(PACKAGE_DIR, 'node_modules', 'prisma', 'build', 'index.js');
const REPO = path.resolve(PACKAGE_DIR, '../..');

export interface CliResult {
  code: number;
  output: string;
}

export function prisma(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PRISMA_CLI, ...args],
      { cwd: PACKAGE_DIR, env: { ...process.env, ...env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CI: '1' }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** A scratch copy of prisma/ (schema + migrations) with its own prisma.config.ts. */
export interface PrismaCopy {
  dir: string;
  schemaPath: string;
  migrationsDir: string;
  configPath: string;
  editSchema(edit: (schema: string) => string): Promise<void>;
  remove(): Promise<void>;
}

export async function copyPrismaProject(): Promise<PrismaCopy> {
  // Inside the package, so the config's `import 'prisma/config'` resolves.
  const dir = path.join(PACKAGE_DIR, 'test', `.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  await cp(path.join(REPO, 'prisma'), path.join(dir, 'prisma'), { recursive: true });
  const schemaPath = path.join(dir, 'prisma', 'schema.prisma');
  // Keep the copy's generators away from the real client and row types.
  const schema = (await readFile(schemaPath, 'utf8'))
    .replace(/(generator client \{[^}]*?output\s*=\s*)"[^"]*"/, `$1"${path.join(dir, 'src', 'generated', 'prisma')}"`)
    .replace(/(generator rows \{[^}]*?output\s*=\s*)"[^"]*"/, `$1"${path.join(dir, 'src', 'generated', 'rows.ts')}"`);
  await writeFile(schemaPath, schema);
  const configPath = path.join(dir, 'prisma.config.ts');
  await writeFile(
    configPath,
    `import { defineConfig } from 'prisma/config';
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= ${JSON.stringify(path.join(PACKAGE_DIR, 'engine', 'schema-engine-shim.js'))};
process.env.CAIRN_ROW_TYPES_GENERATOR ??= ${JSON.stringify(`node ${JSON.stringify(path.join(PACKAGE_DIR, 'generator', 'row-types.js'))}`)};
process.env.CAIRN_MIGRATIONS_DIR = ${JSON.stringify(path.join(dir, 'prisma', 'migrations'))};
export default defineConfig({
  schema: ${JSON.stringify(schemaPath)},
  migrations: { path: ${JSON.stringify(path.join(dir, 'prisma', 'migrations'))} },
  datasource: { url: process.env.DATABASE_URL },
});
`,
  );
  return {
    dir,
    schemaPath,
    migrationsDir: path.join(dir, 'prisma', 'migrations'),
    configPath,
    async editSchema(edit) {
      await writeFile(schemaPath, edit(await readFile(schemaPath, 'utf8')));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
