// Test support: typechecks a package against an edited copy of prisma/schema.prisma, so a test can
// show with the real compiler that a schema change (a renamed column) breaks the code that reads it.
import { execFile } from 'node:child_process';
import { cp, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_DIR, copyPrismaProject, prisma } from './prisma-project.js';

/** The compiler of this workspace, resolved on use (a consumer of @cairn/db/testing may have none). */
function tscPath(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('typescript')), 'tsc.js');
}

/** One error the compiler reported. */
export interface CompileError {
  /** Relative to the package directory, e.g. `src/thread-manager.ts`. */
  file: string;
  line: number;
  /** `TS2344` and the like. */
  code: string;
  /** The message with its elaboration lines. */
  message: string;
}

/** What `tsc --noEmit` said about the package against the edited schema. */
export interface SchemaTypecheckResult {
  exitCode: number;
  errors: CompileError[];
  /** The compiler's whole output, for a failing test's message. */
  output: string;
}

export interface SchemaTypecheckOptions {
  /** The package to typecheck (its directory; its tsconfig.json is extended, its `src` checked). */
  packageDir: string;
  /** Returns the edited schema; an edit that changes nothing is refused (the test would prove nothing). */
  editSchema(schema: string): string;
}

function runTsc(project: string, cwd: string): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tscPath(), '-p', project, '--pretty', 'false'], { cwd, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}

function parseErrors(output: string): CompileError[] {
  const errors: CompileError[] = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (m) errors.push({ file: m[1]!.split(path.sep).join('/'), line: Number(m[2]), code: m[3]!, message: m[4]! });
    else if (line.startsWith(' ') && errors.length > 0) errors.at(-1)!.message += `\n${line.trim()}`;
  }
  return errors;
}

/**
 * Copies prisma/ to a scratch directory, applies `editSchema`, generates the client and the row
 * types from the copy, and runs `tsc --noEmit` over the package's sources with `@cairn/db` resolved
 * to a copy of its sources beside that generated code. Nothing outside the scratch directory
 * changes; it is removed afterwards.
 */
export async function typecheckAgainstSchema(options: SchemaTypecheckOptions): Promise<SchemaTypecheckResult> {
  const copy = await copyPrismaProject();
  try {
    const original = await readFile(copy.schemaPath, 'utf8');
    const edited = options.editSchema(original);
    if (edited === original) throw new Error('typecheckAgainstSchema: the edit left the schema unchanged');
    await writeFile(copy.schemaPath, edited);
    const generated = await prisma(['generate', '--config', copy.configPath], {});
    if (generated.code !== 0) throw new Error(`prisma generate failed on the edited schema:\n${generated.output}`);

    // @cairn/db's own sources next to the copy's src/generated, which the generators just wrote.
    const sourceDir = path.join(PACKAGE_DIR, 'src');
    await cp(sourceDir, path.join(copy.dir, 'src'), {
      recursive: true,
      filter: (source) => !source.startsWith(path.join(sourceDir, 'generated')) && !source.endsWith('.test.ts'),
    });
    // The sources import the schema engine wrapper as ../engine/.
    await symlink(path.join(PACKAGE_DIR, 'engine'), path.join(copy.dir, 'engine'), 'dir');
    const project = path.join(copy.dir, 'tsconfig.json');
    const db = path.join(copy.dir, 'src');
    await writeFile(
      project,
      JSON.stringify({
        extends: path.join(options.packageDir, 'tsconfig.json'),
        compilerOptions: {
          noEmit: true,
          incremental: false,
          // Every import of @cairn/db, from the package or from the workspace packages it uses.
          paths: { '@cairn/db': [path.join(db, 'index.ts')], '@cairn/db/testing': [path.join(db, 'testing.ts')] },
        },
        include: [path.join(options.packageDir, 'src')],
      }),
    );
    const { exitCode, output } = await runTsc(project, options.packageDir);
    return { exitCode, errors: parseErrors(output), output };
  } finally {
    await copy.remove();
  }
}
