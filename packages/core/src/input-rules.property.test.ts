// Seeded, bounded property tests of the input rules against independent oracles: what a rule
// accepts survives the trip to PostgreSQL unchanged, and what it refuses is a ValidationError.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_ID_BYTES, ValidationError, checkId, checkJson, checkText, idIssue, isStorableJson, jsonIssues, parseInput, IdSchema, JsonValueSchema } from './index.js';
import { hasProtoKey, hostileId, hostileJson, hostileString, jsonDepth, survivesJsonText } from './testing.js';

const RUNS = { seed: 20261123, numRuns: 2000 };

/** What node-postgres does to a text parameter: UTF-8 encode (a lone surrogate becomes U+FFFD). */
const throughDriver = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('input rules, property-based', () => {
  it('an id is accepted exactly when it is non-empty, well-formed, free of control characters and within 512 UTF-8 bytes', () => {
    fc.assert(
      fc.property(hostileId, (id) => {
        const oracle = id.length > 0 && throughDriver(id) === id && !/\p{Cc}/u.test(id) && Buffer.byteLength(id) <= MAX_ID_BYTES;
        const error = thrown(() => checkId(id, 'id'));
        if (oracle) {
          expect(error).toBeUndefined();
          expect(parseInput(IdSchema, id, 'id')).toBe(id);
        } else {
          expect(error).toBeInstanceOf(ValidationError);
          expect(idIssue(id)).toBeDefined();
        }
      }),
      RUNS,
    );
  });

  it('two different accepted ids stay different through the driver', () => {
    fc.assert(
      fc.property(hostileString(), hostileString(), (a, b) => {
        fc.pre(a !== b && idIssue(a) === undefined && idIssue(b) === undefined);
        expect(throughDriver(a)).not.toBe(throughDriver(b));
      }),
      RUNS,
    );
  });

  it('text is accepted exactly when the driver passes it unchanged and it holds no NUL', () => {
    fc.assert(
      fc.property(hostileString({ maxLength: 40 }), (text) => {
        const oracle = throughDriver(text) === text && !text.includes('\u0000');
        const error = thrown(() => checkText(text));
        if (oracle) expect(error).toBeUndefined();
        else expect(error).toBeInstanceOf(ValidationError);
      }),
      RUNS,
    );
  });

  it('a JSON value is accepted exactly when it survives JSON text unchanged, has no __proto__ key and is not too deep', () => {
    const maxDepth = 8;
    fc.assert(
      fc.property(hostileJson(), (value) => {
        const oracle = survivesJsonText(value) && !hasProtoKey(value) && jsonDepth(value) <= maxDepth;
        const issues = jsonIssues(value, { maxDepth });
        expect(issues.length === 0).toBe(oracle);
        expect(isStorableJson(value, { maxDepth })).toBe(oracle);
        const error = thrown(() => checkJson(value, 'value', { maxDepth }));
        if (oracle) expect(error).toBeUndefined();
        else expect(error).toBeInstanceOf(ValidationError);
      }),
      RUNS,
    );
  });

  it('the zod schema agrees with the plain function', () => {
    fc.assert(
      fc.property(hostileJson(), (value) => {
        expect(JsonValueSchema.safeParse(value).success).toBe(jsonIssues(value).length === 0);
      }),
      { ...RUNS, numRuns: 500 },
    );
  });
});
