// The objects package's raw-SQL rows are typed from the schema: with a column renamed in a copy of
// prisma/schema.prisma, the compiler rejects the code that reads it, and nothing else.
import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { typecheckAgainstSchema } from '@cairn/db/testing';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('row types from the schema', () => {
  it('fails the typecheck of the thread manager once the schema renames the threads.title column', async () => {
    const result = await typecheckAgainstSchema({
      packageDir: PACKAGE_DIR,
      // The field keeps its name; only its column changes, which is all raw SQL sees.
      editSchema: (schema) => schema.replace(/(model Thread \{[^}]*?\n\s*title\s+String\?)/, '$1 @map("heading")'),
    });
    expect(result.exitCode).not.toBe(0);
    // Every error is where threads' rows and column list live, so the copy compiled apart from the rename.
    expect(result.errors.map((e) => e.file)).toEqual(expect.arrayContaining(['src/thread-manager.ts']));
    expect(result.errors.filter((e) => e.file !== 'src/thread-manager.ts')).toEqual([]);
    expect(result.errors).toContainEqual(
      expect.objectContaining({ code: 'TS2344', message: expect.stringContaining(`Type '"title"' is not assignable to type 'ColumnName<"threads">'`) }),
    );
  }, 180_000);
});
