// The filter compiler on real PostgreSQL: every shared case (core's FILTER_CASES) keeps the same
// documents in SQL as in core's evaluator, and so do 1,000 seeded random filters; containment
// compiles to `@>`, which a GIN (jsonb_path_ops) index answers; values never enter the SQL text.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { filterCondition, matchesFilter, parseFilter, type FilterNode, type JsonValue } from '@cairn/core';
import { FILTER_CASES, FILTER_CASE_DOCUMENTS, FILTER_CASE_LANGUAGE, filterOfCase } from '@cairn/core/testing';
import { compileFilter, SqlParams, type CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';

let db: CairnDb;

beforeAll(async () => {
  db = await createTestDb();
  await db.pool.query('CREATE TABLE filter_cases (id int PRIMARY KEY, doc jsonb NOT NULL)');
  await db.pool.query('CREATE INDEX filter_cases_doc ON filter_cases USING gin (doc jsonb_path_ops)');
  await db.pool.query('INSERT INTO filter_cases SELECT ord - 1, d FROM unnest($1::jsonb[]) WITH ORDINALITY AS t(d, ord)', [FILTER_CASE_DOCUMENTS.map((d) => JSON.stringify(d))]);
  await db.pool.query('ANALYZE filter_cases');
});

afterAll(async () => {
  await db.close();
});

async function keptByPostgres(filter: FilterNode): Promise<number[]> {
  const params = new SqlParams();
  const sql = compileFilter(filter, 'f.doc', params);
  const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM filter_cases f WHERE ${sql} ORDER BY id`, params.values);
  return rows.map((r) => r.id);
}

function keptByEvaluator(filter: FilterNode): number[] {
  return FILTER_CASE_DOCUMENTS.flatMap((doc, i) => (matchesFilter(filter, doc) ? [i] : []));
}

describe('compileFilter on PostgreSQL', () => {
  it.each(FILTER_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const filter = filterOfCase(c);
    expect(await keptByPostgres(filter)).toEqual(c.matches);
    expect(keptByEvaluator(filter)).toEqual(c.matches);
  });

  it('agrees with the evaluator on 1,000 random filters', async () => {
    // Few keys and values, most of them in the documents, so that conditions often match.
    const keys = ['tag', 'n', 'flag', 'tags', 'opt', 'extra', 's', 'title', 'date', 'author', 'author.name', 'author.age', 'arr.1', 'm.0', 'list.0.id', 'list', '0'];
    const scalar = fc.constantFrom<string | number | boolean | null>('red', 'green', 'blue', 'a', 'b', 'Ann', 'Bo', 'x', 'e', 'é', '\uFFFD', '\u{1F600}', '2', 'true', 1, 2, 2.5, -1, 0, 3, 41, 100, true, false, null);
    const json: fc.Arbitrary<JsonValue> = fc.oneof(
      scalar,
      fc.array(scalar, { maxLength: 2 }),
      fc.constantFrom<JsonValue>({ name: 'Ann' }, { name: 'Bo', age: 41 }, [{ id: 1 }], [['a']], {}, []),
    );
    const operators: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
      scalar.map((v) => ({ $eq: v })),
      scalar.map((v) => ({ $ne: v })),
      fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => ({ $in: v })),
      fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => ({ $nin: v })),
      fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), fc.constantFrom<string | number>(0, 1, 2, 2.5, 40, 'b', 'green', 'é', '\uFFFD', '2024-02-01')).map(([op, v]) => ({ [op]: v })),
      fc.boolean().map((v) => ({ $exists: v })),
      fc.oneof(scalar, fc.array(scalar, { minLength: 1, maxLength: 2 })).map((v) => ({ $contains: v })),
      json.map((v) => ({ $jsonContains: v })),
      json.map((v) => ({ $jsonEquals: v })),
    );
    const condition = fc.tuple(fc.constantFrom(...keys), fc.oneof(scalar, operators)).map(([key, c]) => ({ [key]: c }));
    const { filter } = fc.letrec<{ filter: Record<string, unknown> }>((tie) => ({
      filter: fc.oneof(
        { depthSize: 'small', maxDepth: 3 },
        condition,
        fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((f) => ({ $and: f })),
        fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((f) => ({ $or: f })),
        tie('filter').map((f) => ({ $not: f })),
        fc.tuple(condition, condition).map(([a, b]) => ({ ...a, ...b })),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(filter, async (input) => {
        const parsed = FILTER_CASE_LANGUAGE.parse(input);
        expect(await keptByPostgres(parsed)).toEqual(keptByEvaluator(parsed));
      }),
      { numRuns: 1000, seed: 20261203 },
    );
  });

  it('compiles containment to @>, which the GIN jsonb_path_ops index answers', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      for (const filter of [parseFilter({ tag: 'red' }), parseFilter({ tag: { $in: ['red', 'blue'] } }), parseFilter({ tags: { $contains: 'a' } }), filterCondition('$jsonContains', [], { author: { name: 'Ann' } })]) {
        const params = new SqlParams();
        const sql = compileFilter(filter, 'f.doc', params);
        expect(sql).toMatch(/^f\.doc @> (ANY\()?\$1::jsonb/);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM filter_cases f WHERE ${sql}`, params.values);
        expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('filter_cases_doc');
      }
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('binds every key and value as a parameter, after the statement’s own', () => {
    const hostile = "x'); DROP TABLE filter_cases; --";
    const params = new SqlParams(['tenant']);
    const sql = compileFilter(parseFilter({ a: hostile, b: { $in: [hostile] }, c: { $gt: hostile }, d: { $exists: true } }), 'f.doc', params);
    expect(sql).not.toContain('DROP');
    expect(sql).toBe(
      `(f.doc @> $2::jsonb AND f.doc @> ANY($3::jsonb[]) AND CASE WHEN jsonb_typeof((f.doc #> $4::text[])) = 'string' THEN (f.doc #> $4::text[]) > $5::jsonb ELSE false END AND (f.doc #> $6::text[]) IS NOT NULL)`,
    );
    expect(params.values[0]).toBe('tenant');
    expect(() => compileFilter(parseFilter({}), 'doc; DROP TABLE x', new SqlParams())).toThrow(/Not a column/);
  });

  it('negates a condition that can be NULL as "not true"', async () => {
    const params = new SqlParams();
    const node: FilterNode = { kind: 'not', node: filterCondition('$jsonEquals', ['opt'], null) };
    expect(compileFilter(node, 'f.doc', params)).toBe('(f.doc #> $1::text[] = $2::jsonb) IS NOT TRUE');
    expect(compileFilter({ kind: 'or', nodes: [] }, 'f.doc', params)).toBe('FALSE');
  });
});
