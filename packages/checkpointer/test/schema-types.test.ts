// The checkpointer's raw-SQL rows are typed from the schema: with a column renamed in a copy of
// prisma/schema.prisma, the compiler rejects the code that reads it, and nothing else.
import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { typecheckAgainstSchema } from '@cairn/db/testing';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('row types from the schema', () => {
  it('fails the typecheck of the PostgreSQL checkpointer once the schema renames checkpoints.parent_checkpoint_id', async () => {
    const result = await typecheckAgainstSchema({
      packageDir: PACKAGE_DIR,
      editSchema: (schema) => schema.replace('@map("parent_checkpoint_id")', '@map("parent_id")'),
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.errors.filter((e) => e.file !== 'src/postgres-sql.ts' && e.file !== 'src/postgres-checkpointer.ts')).toEqual([]);
    const renamed = `'"parent_checkpoint_id"' is not assignable to type 'ColumnName<"checkpoints">'`;
    // The column list the statements are built from, and the rows read back.
    expect(result.errors).toContainEqual(expect.objectContaining({ file: 'src/postgres-sql.ts', message: expect.stringContaining(renamed) }));
    expect(result.errors).toContainEqual(expect.objectContaining({ file: 'src/postgres-checkpointer.ts', message: expect.stringContaining(renamed) }));
  }, 180_000);
});
