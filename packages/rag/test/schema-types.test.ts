// The rag package's raw-SQL rows are typed from the schema: with a column renamed in a copy of
// prisma/schema.prisma, the compiler rejects the code that reads it, and nothing else.
import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { typecheckAgainstSchema } from '@cairn/db/testing';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The files that declare the collection's row types (document reads, search hits) or read those rows. */
const ROW_TYPE_FILES = ['src/document-sql.ts', 'src/search-plan.ts', 'src/collection.ts'];

describe('row types from the schema', () => {
  it('fails the typecheck of the collection once the schema renames the documents.content column', async () => {
    const result = await typecheckAgainstSchema({
      packageDir: PACKAGE_DIR,
      // The field keeps its name; only its column changes, which is all raw SQL sees.
      editSchema: (schema) => schema.replace(/(model Document \{[^}]*?\n\s*content\s+String)/, '$1 @map("body")'),
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.errors.filter((e) => !ROW_TYPE_FILES.includes(e.file))).toEqual([]);
    expect(result.errors).toContainEqual(
      expect.objectContaining({ code: 'TS2344', message: expect.stringContaining(`Type '"content"' is not assignable to type 'ColumnName<"documents">'`) }),
    );
  }, 180_000);
});
