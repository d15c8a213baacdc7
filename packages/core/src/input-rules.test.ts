import { describe, expect, it } from '@jest/globals';
import {
  FULL_TEXT_MAX_BYTES,
  FullTextSchema,
  IdSchema,
  MAX_ID_BYTES,
  TenantIdSchema,
  TextSchema,
  ValidationError,
  checkId,
  checkTenantId,
  checkText,
  fitsFullTextIndex,
  fullTextIssue,
  idIssue,
  idSchema,
  isWellFormed,
  parseInput,
  tenantIdIssue,
  textIssue,
} from './index.js';

describe('idIssue', () => {
  it('accepts ordinary ids of every script, astral characters included', () => {
    for (const id of ['a', 'thread-1', '0190f5a4-7b7e-7c3e-9f00-000000000000', "'; DROP TABLE x; --", 'déjà vu', '東京', '🚀 launch', 'a\uD83D\uDE80b', ' spaced ']) {
      expect(idIssue(id)).toBeUndefined();
    }
  });

  it('refuses lone surrogates, which node-postgres would send as U+FFFD', () => {
    for (const id of ['a\uD800b', 'a\uDBFFb', '\uDC00', 'x\uDFFF', 'high-at-end\uD83D']) {
      expect(idIssue(id)).toMatch(/lone surrogate \(U\+D[89A-F][0-9A-F]{2} at index \d+\).*U\+FFFD/);
    }
  });

  it('refuses NUL and the control characters of C0, DEL and C1, naming the character', () => {
    expect(idIssue('a\u0000b')).toMatch(/NUL \(U\+0000\)/);
    expect(idIssue('line\nbreak')).toMatch(/control characters \(U\+000A at index 4\)/);
    expect(idIssue('tab\t')).toMatch(/U\+0009/);
    expect(idIssue('del\u007F')).toMatch(/U\+007F/);
    expect(idIssue('c1\u0085')).toMatch(/U\+0085/);
    expect(idIssue('nbsp\u00A0')).toBeUndefined();
  });

  it('bounds ids in UTF-8 bytes, not in characters', () => {
    expect(idIssue('a'.repeat(MAX_ID_BYTES))).toBeUndefined();
    expect(idIssue('a'.repeat(MAX_ID_BYTES + 1))).toMatch(/at most 512 bytes in UTF-8 \(is 513\)/);
    // 171 characters of three bytes each: fewer than 512 characters, more than 512 bytes.
    expect(idIssue('東'.repeat(170))).toBeUndefined();
    expect(idIssue('東'.repeat(171))).toMatch(/is 513\)/);
    expect(idIssue('\u{1F680}'.repeat(128))).toBeUndefined();
    expect(idIssue('\u{1F680}'.repeat(129))).toMatch(/is 516\)/);
    expect(idIssue('é'.repeat(257))).toMatch(/is 514\)/);
  });

  it('refuses empty strings and non-strings, and allows the empty string when asked', () => {
    expect(idIssue('')).toBe('must not be empty');
    expect(idIssue(42)).toBe('must be a string');
    expect(idIssue(undefined)).toBe('must be a string');
    expect(idIssue('', { allowEmpty: true })).toBeUndefined();
    expect(idIssue('abcd', { maxBytes: 3 })).toMatch(/at most 3 bytes/);
  });
});

describe('tenantIdIssue', () => {
  it('accepts ASCII slugs up to 128 characters', () => {
    for (const id of ['default', 'acme', 'tenant-b', 'org_1.eu:prod', 'user@example.com', '0', 'a'.repeat(128)]) expect(tenantIdIssue(id)).toBeUndefined();
  });

  it('names the broken rule: surrogate, NUL, control, length, then the character set', () => {
    expect(tenantIdIssue('tenant\uD800')).toMatch(/lone surrogate/);
    expect(tenantIdIssue('tenant\uDBFF')).toMatch(/lone surrogate/);
    expect(tenantIdIssue('t\u0000')).toMatch(/NUL/);
    expect(tenantIdIssue('t\r')).toMatch(/control/);
    expect(tenantIdIssue('a'.repeat(129))).toMatch(/at most 128 bytes/);
    expect(tenantIdIssue('')).toBe('must not be empty');
    for (const bad of ['-leading', 'has space', 'née', 'a/b', "o'brien", '{braces}']) expect(tenantIdIssue(bad)).toMatch(/only letters, digits/);
  });
});

describe('textIssue and fullTextIssue', () => {
  it('keeps control characters in text and refuses NUL and lone surrogates', () => {
    expect(textIssue('line one\nline two\ttabbed \u001B[0m')).toBeUndefined();
    expect(textIssue('a\u0000')).toMatch(/NUL/);
    expect(textIssue('ok \uD83D\uDE80 then lone \uDE80')).toMatch(/lone surrogate \(U\+DE80 at index 16\)/);
    expect(textIssue('ééé', { maxBytes: 5 })).toMatch(/at most 5 bytes in UTF-8 \(is 6\)/);
    expect(textIssue('ééé', { maxBytes: 6 })).toBeUndefined();
  });

  it('accepts full text up to FULL_TEXT_MAX_BYTES of UTF-8 and says what to do with longer text', () => {
    expect(fullTextIssue('a'.repeat(FULL_TEXT_MAX_BYTES))).toBeUndefined();
    expect(fitsFullTextIndex('a'.repeat(FULL_TEXT_MAX_BYTES))).toBe(true);
    expect(fitsFullTextIndex('a'.repeat(FULL_TEXT_MAX_BYTES + 1))).toBe(false);
    expect(fitsFullTextIndex('é'.repeat(FULL_TEXT_MAX_BYTES / 2))).toBe(true);
    expect(fitsFullTextIndex('é'.repeat(FULL_TEXT_MAX_BYTES / 2 + 1))).toBe(false);
    expect(fullTextIssue('東'.repeat(FULL_TEXT_MAX_BYTES / 3 + 1))).toMatch(/split it into chunks or store it without a text index/);
    expect(fullTextIssue('x\u0000')).toMatch(/NUL/);
  });
});

describe('the zod schemas and check functions', () => {
  it('report the same messages as the plain functions, as ValidationErrors', () => {
    const error = (() => {
      try {
        parseInput(IdSchema, 'a\uD800b', 'thread id');
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues).toEqual([{ path: '', message: idIssue('a\uD800b') }]);
    expect(() => checkId('a\uDBFFb', 'thread id')).toThrow(ValidationError);
    expect(() => checkTenantId('tenant\uDBFF')).toThrow(/Invalid tenant id: .*lone surrogate/);
    expect(() => checkText('\u0000', 'title')).toThrow(/Invalid title: must not contain NUL/);
    expect(checkId('ok')).toBe('ok');
    expect(TenantIdSchema.safeParse('acme').success).toBe(true);
    expect(TenantIdSchema.safeParse(7).success).toBe(false);
    expect(TextSchema.safeParse('a\u0000').success).toBe(false);
    expect(FullTextSchema.safeParse('fine').success).toBe(true);
    expect(idSchema({ allowEmpty: true }).safeParse('').success).toBe(true);
  });

  it('never put the offending characters into the message', () => {
    for (const bad of ['a\uD800b', 'a\u0000b', 'a\nb']) {
      const message = idIssue(bad)!;
      expect(isWellFormed(message)).toBe(true);
      // eslint-disable-next-line no-control-regex -- the assertion is that no control character reached the message
      expect(/[\u0000-\u001f]/.test(message)).toBe(false);
    }
  });
});
