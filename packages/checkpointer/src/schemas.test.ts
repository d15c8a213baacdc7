// The option types are declared by hand beside their schemas (z.input would type every id as
// unknown); this file compiles only while each declaration and its schema agree.
import { describe, expect, it } from '@jest/globals';
import type { z } from 'zod';
import type {
  ForkOptionsSchema,
  GetOptionsSchema,
  HistoryOptionsSchema,
  ListOptionsSchema,
  PutManyItemSchema,
  PutOptionsSchema,
  PutWritesOptionsSchema,
  RawListQuerySchema,
  RawPutItemSchema,
  RawPutOptionsSchema,
  RetentionPolicySchema,
  ForkOptions,
  GetOptions,
  HistoryOptions,
  ListOptions,
  PutManyItem,
  PutOptions,
  PutWritesOptions,
  RawListQuery,
  RawPutItem,
  RawPutOptions,
  RetentionPolicy,
} from './schemas.js';

/** true when the declaration names exactly the schema's keys and what the schema returns fits it. */
type Agrees<Schema extends z.ZodType, Declared> = [keyof Declared] extends [keyof z.input<Schema>]
  ? [keyof z.input<Schema>] extends [keyof Declared]
    ? z.output<Schema> extends Declared
      ? true
      : false
    : false
  : false;

const agreement: Record<string, true> = {
  PutOptions: true satisfies Agrees<typeof PutOptionsSchema, PutOptions>,
  PutManyItem: true satisfies Agrees<typeof PutManyItemSchema, PutManyItem>,
  RawPutItem: true satisfies Agrees<typeof RawPutItemSchema, RawPutItem>,
  RawPutOptions: true satisfies Agrees<typeof RawPutOptionsSchema, RawPutOptions>,
  GetOptions: true satisfies Agrees<typeof GetOptionsSchema, GetOptions>,
  ListOptions: true satisfies Agrees<typeof ListOptionsSchema, ListOptions>,
  RawListQuery: true satisfies Agrees<typeof RawListQuerySchema, RawListQuery>,
  HistoryOptions: true satisfies Agrees<typeof HistoryOptionsSchema, HistoryOptions>,
  ForkOptions: true satisfies Agrees<typeof ForkOptionsSchema, ForkOptions>,
  PutWritesOptions: true satisfies Agrees<typeof PutWritesOptionsSchema, PutWritesOptions>,
  RetentionPolicy: true satisfies Agrees<typeof RetentionPolicySchema, RetentionPolicy>,
};

describe('option types', () => {
  it('agree with their schemas (checked by the compiler)', () => {
    expect(Object.keys(agreement)).toHaveLength(11);
  });
});
