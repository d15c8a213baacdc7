// The one set of rules for the strings every Cairn package stores: ids, tenant ids and text. They
// exist because PostgreSQL and its driver change or refuse some strings that JavaScript accepts:
// - node-postgres encodes an unpaired UTF-16 surrogate as U+FFFD, so `a\uD800b` and `a\uDBFFb`
//   would become the same key (one thread, one tenant, reading the other's data);
// - text and jsonb cannot hold NUL (U+0000);
// - a btree index row holds at most 2704 bytes, counted in UTF-8, not in JavaScript characters;
// - to_tsvector refuses a text whose lexemes and positions pass 1 MB.
// Every rule is a plain function returning why a value breaks it (fast, for hot paths) and a zod
// schema built on that function, so both always agree.
import { z } from 'zod';
import { ValidationError } from './errors.js';

/**
 * Largest id, in UTF-8 bytes. The widest key of the schema is checkpoint_writes' primary key:
 * a tenant id and four ids (thread, namespace, checkpoint, task) plus an int. At 128 + 4 × 512 bytes
 * plus per-column headers it stays near 2,200 bytes, under the 2,704 bytes of a btree row on 8 KiB
 * pages, and 512 bytes is still 512 ASCII characters (a namespace path, a URL-like id).
 */
export const MAX_ID_BYTES = 512;

/** Largest tenant id, in bytes (tenant ids are ASCII, so also in characters). */
export const MAX_TENANT_ID_BYTES = 128;

/**
 * The largest tsvector PostgreSQL builds (MAXSTRPOS): the bytes of its distinct lexemes plus 2 bytes
 * per position. to_tsvector over more fails with `54000 string is too long for tsvector`.
 */
export const TSVECTOR_MAX_BYTES = 1_048_575;

/**
 * The longest text, in UTF-8 bytes, that can always be given to to_tsvector. A text's tsvector can
 * be larger than the text: each new lexeme costs its bytes, alignment and 4 bytes of position
 * header, lowercasing can grow a character from 2 to 3 bytes, and the default parser emits a
 * hyphenated word and each of its parts. Measured on PostgreSQL 15 with adversarial inputs (distinct
 * short words, hyphenated pairs of Ⱥ-like letters, e-mail and URL shapes), the tsvector reached
 * about 2.1× the text; 256 KiB leaves it under 1 MB with room for worse cases. Longer texts must
 * be split into chunks (one document each) or stored without a text index.
 */
export const FULL_TEXT_MAX_BYTES = 262_144;

/** Options of the id rule. */
export interface IdRuleOptions {
  /** Largest id, in UTF-8 bytes. @defaultValue MAX_ID_BYTES (512) */
  maxBytes?: number;
  /** Accept the empty string (a root namespace). @defaultValue false */
  allowEmpty?: boolean;
}

/** Options of the text rule. */
export interface TextRuleOptions {
  /** Largest text, in UTF-8 bytes. @defaultValue no limit */
  maxBytes?: number;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

const NUL_MESSAGE = 'must not contain NUL (U+0000): PostgreSQL text and jsonb cannot store it';

function loneSurrogateMessage(code: number, index: number): string {
  return (
    `must be well-formed Unicode, but has a lone surrogate (${hex(code)} at index ${index}): ` +
    'PostgreSQL would receive U+FFFD in its place, so different strings would be stored as one'
  );
}

function tooLongMessage(bytes: number, maxBytes: number): string {
  return `must be at most ${maxBytes} bytes in UTF-8 (is ${bytes}): longer keys could pass PostgreSQL's index row limit`;
}

/**
 * Why `value` cannot be an id, or undefined when it can. An id is 1 to `maxBytes` UTF-8 bytes of
 * well-formed Unicode without control characters (C0, DEL, C1): ids end up in keys, logs, URLs and
 * error messages, where a newline or an escape sequence is a hazard and never a name. Anything else
 * goes, and nothing is normalised: `é` (NFC) and `é` (NFD) are two ids, as they are two keys in
 * PostgreSQL.
 */
export function idIssue(value: unknown, options: IdRuleOptions = {}): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return options.allowEmpty ? undefined : 'must not be empty';
  const maxBytes = options.maxBytes ?? MAX_ID_BYTES;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most ids are rejected or accepted by length alone.
  if (value.length > maxBytes) return tooLongMessage(Buffer.byteLength(value, 'utf8'), maxBytes);
  // Most ids (uuids, slugs) are printable ASCII: one native regex pass, a byte per character.
  if (PRINTABLE_ASCII.test(value)) return undefined;
  let bytes = 0;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === 0x7f) return c === 0 ? NUL_MESSAGE : controlMessage(c, i);
      bytes += 1;
    } else if (c < 0x800) {
      if (c <= 0x9f) return controlMessage(c, i);
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return loneSurrogateMessage(c, i);
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes > maxBytes ? tooLongMessage(bytes, maxBytes) : undefined;
}

function controlMessage(code: number, index: number): string {
  return `must not contain control characters (${hex(code)} at index ${index}): ids appear in keys, logs and URLs`;
}

const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

/**
 * Why `value` cannot be a tenant id, or undefined when it can. Tenant ids are ASCII slugs of 1-128
 * characters: letters, digits and `_ . : @ -`, starting with a letter or digit. Stricter than ids
 * because a tenant id is a key of keys: Redis key prefixes, the literals of @cairn/rag's partial
 * index predicates, metric labels, and the partition key a deployment may split tables by. A
 * tenant's display name belongs in application data.
 */
export function tenantIdIssue(value: unknown): string | undefined {
  // The id rule first, so a NUL, a lone surrogate or a control character is named as such.
  const issue = idIssue(value, { maxBytes: MAX_TENANT_ID_BYTES });
  if (issue !== undefined) return issue;
  return TENANT_PATTERN.test(value as string) ? undefined : 'must contain only letters, digits and _ . : @ - (starting with a letter or digit)';
}

/**
 * Why `value` cannot be stored as text, or undefined when it can: a string without NUL and
 * without lone surrogates (either would fail or silently change in PostgreSQL), at most `maxBytes`
 * UTF-8 bytes when given. Control characters are text (tabs, newlines) and are kept.
 */
export function textIssue(value: unknown, options: TextRuleOptions = {}): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.includes('\u0000')) return NUL_MESSAGE;
  if (!isWellFormed(value)) {
    const index = loneSurrogateIndex(value);
    return loneSurrogateMessage(value.charCodeAt(index), index);
  }
  const { maxBytes } = options;
  if (maxBytes !== undefined && value.length > maxBytes / 3) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > maxBytes) return `must be at most ${maxBytes} bytes in UTF-8 (is ${bytes})`;
  }
  return undefined;
}

/**
 * Why `value` cannot be given to to_tsvector, or undefined when it can: the text rule, and at most
 * FULL_TEXT_MAX_BYTES of UTF-8. A caller with longer documents chooses what to do with them: split
 * them into chunks, or store them without a text index; `fitsFullTextIndex` tells which ones.
 */
export function fullTextIssue(value: unknown): string | undefined {
  const issue = textIssue(value);
  if (issue !== undefined) return issue;
  const text = value as string;
  if (fitsFullTextIndex(text)) return undefined;
  return (
    `must be at most ${FULL_TEXT_MAX_BYTES} bytes in UTF-8 to be indexed for full-text search (is ${utf8ByteLength(text)}): ` +
    'split it into chunks or store it without a text index'
  );
}

/** Whether to_tsvector can always index `text` (at most FULL_TEXT_MAX_BYTES of UTF-8). */
export function fitsFullTextIndex(text: string): boolean {
  return text.length <= FULL_TEXT_MAX_BYTES / 3 || (text.length <= FULL_TEXT_MAX_BYTES && utf8ByteLength(text) <= FULL_TEXT_MAX_BYTES);
}

/** The length of `text` in UTF-8 bytes (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

// Node 20 has String.prototype.isWellFormed; the repository's `lib` (ES2023) does not declare it yet.
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` is well-formed Unicode (no lone surrogates). */
export function isWellFormed(text: string): boolean {
  return nativeIsWellFormed ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

function loneSurrogateIndex(text: string): number {
  return LONE_SURROGATE.exec(text)?.index ?? -1;
}

/** A zod schema of strings that pass `issue`, reporting its message. */
function ruleSchema(issue: (value: string) => string | undefined): z.ZodType<string> {
  return z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
    const message = issue(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });
}

/** zod schema of ids with other bounds (`idSchema({ allowEmpty: true })` for a root namespace). */
export function idSchema(options: IdRuleOptions = {}): z.ZodType<string> {
  return ruleSchema((value) => idIssue(value, options));
}

/** zod schema of text with an optional byte bound. */
export function textSchema(options: TextRuleOptions = {}): z.ZodType<string> {
  return ruleSchema((value) => textIssue(value, options));
}

/** Thread, checkpoint, object, session, document ids: see `idIssue`. */
export const IdSchema: z.ZodType<string> = idSchema();

/** Tenant ids: see `tenantIdIssue`. */
export const TenantIdSchema: z.ZodType<string> = ruleSchema(tenantIdIssue);

/** Text for PostgreSQL text columns (titles, content): see `textIssue`. */
export const TextSchema: z.ZodType<string> = textSchema();

/** Text that to_tsvector will index: see `fullTextIssue`. */
export const FullTextSchema: z.ZodType<string> = ruleSchema(fullTextIssue);

/** Returns `value` when it is an id, else throws a ValidationError naming `what`. For hot paths. */
export function checkId(value: unknown, what = 'id', options: IdRuleOptions = {}): string {
  const issue = idIssue(value, options);
  if (issue !== undefined) throw new ValidationError(what, [{ path: '', message: issue }]);
  return value as string;
}

/** Returns `value` when it is a tenant id, else throws a ValidationError. */
export function checkTenantId(value: unknown, what = 'tenant id'): string {
  const issue = tenantIdIssue(value);
  if (issue !== undefined) throw new ValidationError(what, [{ path: '', message: issue }]);
  return value as string;
}

/** Returns `value` when it can be stored as text, else throws a ValidationError naming `what`. */
export function checkText(value: unknown, what = 'text', options: TextRuleOptions = {}): string {
  const issue = textIssue(value, options);
  if (issue !== undefined) throw new ValidationError(what, [{ path: '', message: issue }]);
  return value as string;
}
