// The one "can jsonb store this, and read it back the same" check. JSON.stringify is lenient where
// a store must not be: it writes NaN as null, drops undefined and symbol-keyed properties, turns a
// Map into {}, and passes NUL and lone surrogates to PostgreSQL, which refuses both (22P05, 22P02).
// The walk uses an explicit stack, so a value nested a million levels deep is a ValidationError
// naming where, never a RangeError; and it stops after a few issues, so a huge bad input is cheap.
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';
import { isWellFormed } from './input-rules.js';

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value (what a `jsonb` column holds). */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Deepest nesting of arrays and objects accepted by default. Far below where anything on the way
 * recurses into trouble (V8's JSON.stringify fails near 4,000 levels, PostgreSQL's jsonb input
 * checks its stack, the serializer and zod recurse), and far above real documents, which rarely
 * pass 20.
 */
export const DEFAULT_MAX_JSON_DEPTH = 256;

/** Issues reported before the walk stops, by default. */
export const DEFAULT_MAX_JSON_ISSUES = 20;

/** Options of the JSON check. */
export interface JsonRuleOptions {
  /** Deepest nesting of arrays and objects (the root container is level 1). @defaultValue 256 */
  maxDepth?: number;
  /** Stop after this many issues. @defaultValue 20 */
  maxIssues?: number;
  /**
   * Accept valid Dates, which JSON.stringify writes as ISO strings (the reader must revive them,
   * e.g. with `z.coerce.date()`). @defaultValue false
   */
  allowDates?: boolean;
  /** Accept object properties whose value is undefined: JSON omits them, so they read back absent. @defaultValue false */
  allowUndefinedProperties?: boolean;
  /** Where `value` sits in the caller's input, prefixed to every issue's path (`metadata`, `equals.a`); not used by the zod forms, which know their path. @defaultValue '' */
  path?: string;
}

/** A container waiting to be walked, or (entered) waiting to leave the ancestor set. */
interface Frame {
  value: object;
  parent: Frame | undefined;
  key: string | number;
  depth: number;
  entered: boolean;
}

type Segment = string | number;
type Report = (segments: Segment[], message: string) => void;

const PROTO_KEY_MESSAGE =
  'is refused as a key: JavaScript assignment (zod records, Object.assign, most copies) turns "__proto__" into a prototype change, ' +
  'so the key would be dropped on the way; rename it ("constructor" and "prototype" are kept)';

/** Walks `value` depth-first with an explicit stack, reporting each issue until `maxIssues`. */
function walk(root: unknown, options: JsonRuleOptions, report: Report): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const maxIssues = options.maxIssues ?? DEFAULT_MAX_JSON_ISSUES;
  const allowDates = options.allowDates ?? false;
  const allowUndefined = options.allowUndefinedProperties ?? false;
  let issues = 0;
  const stack: Frame[] = [];
  const ancestors = new Set<object>();

  const issue = (parent: Frame | undefined, key: Segment | undefined, message: string) => {
    issues += 1;
    report(segmentsOf(parent, key), message);
  };

  /** Checks a value in place; containers are queued instead of recursed into. */
  const visit = (value: unknown, parent: Frame | undefined, key: Segment | undefined, inArray: boolean) => {
    switch (typeof value) {
      case 'string':
        if (value.includes('\u0000')) issue(parent, key, 'must not contain NUL (U+0000): PostgreSQL jsonb cannot store it');
        else if (!isWellFormed(value)) issue(parent, key, 'must be well-formed Unicode: a lone surrogate cannot be stored in jsonb');
        return;
      case 'number':
        if (!Number.isFinite(value)) issue(parent, key, `${value} is not a JSON number`);
        return;
      case 'boolean':
        return;
      case 'undefined':
        if (inArray) issue(parent, key, 'undefined (or an empty slot) is not JSON: it would be written as null');
        else if (!allowUndefined) issue(parent, key, 'undefined is not JSON: the property would be dropped');
        return;
      case 'object':
        break;
      default:
        issue(parent, key, `a ${typeof value} is not JSON`);
        return;
    }
    if (value === null) return;
    if (value instanceof Date) {
      if (!allowDates) issue(parent, key, 'a Date is not JSON: pass date.toISOString()');
      else if (Number.isNaN(value.getTime())) issue(parent, key, 'an invalid Date is not JSON: it would be written as null');
      return;
    }
    const depth = (parent?.depth ?? 0) + 1;
    if (depth > maxDepth) {
      issue(parent, key, `is nested deeper than ${maxDepth} levels of arrays and objects`);
      return;
    }
    if (ancestors.has(value)) {
      issue(parent, key, 'is a circular reference');
      return;
    }
    stack.push({ value, parent, key: key ?? '', depth, entered: false });
  };

  visit(root, undefined, undefined, false);
  while (stack.length > 0 && issues < maxIssues) {
    const frame = stack[stack.length - 1]!;
    if (frame.entered) {
      stack.pop();
      ancestors.delete(frame.value);
      continue;
    }
    frame.entered = true;
    ancestors.add(frame.value);
    const value = frame.value;
    // Children are pushed above the frame, last first, so they are walked in order before it leaves.
    const mark = stack.length;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && issues < maxIssues; i += 1) visit(value[i], frame, i, true);
    } else {
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        issue(frame.parent, frameKey(frame), `a ${constructorName(value)} is not a plain JSON object`);
        continue;
      }
      if (Object.getOwnPropertySymbols(value).length > 0) issue(frame.parent, frameKey(frame), 'has symbol keys, which JSON drops');
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (issues >= maxIssues) break;
        if (key === '__proto__') issue(frame, key, PROTO_KEY_MESSAGE);
        else if (key.includes('\u0000')) issue(frame, key, 'has a key with NUL (U+0000), which PostgreSQL jsonb cannot store');
        else if (!isWellFormed(key)) issue(frame, key, 'has a key with a lone surrogate, which jsonb cannot store');
        else visit(record[key], frame, key, false);
      }
    }
    reverseFrom(stack, mark);
  }
}

function frameKey(frame: Frame): Segment | undefined {
  return frame.parent === undefined ? undefined : frame.key;
}

function reverseFrom(stack: Frame[], from: number): void {
  for (let i = from, j = stack.length - 1; i < j; i += 1, j -= 1) {
    const t = stack[i]!;
    stack[i] = stack[j]!;
    stack[j] = t;
  }
}

function segmentsOf(parent: Frame | undefined, key: Segment | undefined): Segment[] {
  const segments: Segment[] = key === undefined ? [] : [key];
  for (let f = parent; f !== undefined && f.parent !== undefined; f = f.parent) segments.push(f.key);
  return segments.reverse();
}

function constructorName(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'class instance';
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;
// What a message must not carry raw: NUL and controls (C0, DEL, C1), lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A key as a JSON string literal, cut at 64 characters, with every control character escaped. */
function quoteKey(key: string): string {
  const cut = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return JSON.stringify(cut).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A path for messages: `a.b[2]`, with other keys quoted and escaped (`a["x y"]`, `["\u0000"]`) so
 * the message itself is printable, well-formed text, and long keys cut short.
 */
export function formatJsonPath(segments: readonly Segment[], prefix = ''): string {
  let out = prefix;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_KEY.test(s) && s.length <= 64) out += out === '' ? s : `.${s}`;
    else out += `[${quoteKey(s)}]`;
  }
  return out;
}

/** zod's path segments (zod prints them as they are): keys with unprintable characters, or long ones, quoted and escaped. */
function zodSegments(segments: readonly Segment[]): Segment[] {
  return segments.map((s) => (typeof s === 'number' || (s.length <= 64 && !UNPRINTABLE.test(s)) ? s : quoteKey(s)));
}

/**
 * Every reason `value` cannot be stored in jsonb and read back unchanged (at most `maxIssues`);
 * empty when it can. What passes holds only null, booleans, finite numbers, strings without NUL
 * or lone surrogates, arrays without empty slots and plain objects (prototype Object.prototype or
 * null) whose keys follow the string rules, nested at most `maxDepth` levels, without cycles.
 * The key `__proto__` is refused (see PROTO_KEY_MESSAGE); `constructor` and `prototype` are plain
 * keys and kept. Two things do change on the way and are accepted: jsonb orders object keys its
 * own way, and -0 reads back as 0.
 */
export function jsonIssues(value: unknown, options: JsonRuleOptions = {}): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  walk(value, options, (segments, message) => issues.push({ path: formatJsonPath(segments, options.path), message }));
  return issues;
}

/** Whether `value` passes `jsonIssues` (stops at the first issue). */
export function isStorableJson(value: unknown, options: JsonRuleOptions = {}): boolean {
  let ok = true;
  walk(value, { ...options, maxIssues: 1 }, () => (ok = false));
  return ok;
}

/** Returns `value` when it passes `jsonIssues`, else throws a ValidationError naming `what` and the issues. */
export function checkJson(value: unknown, what: string, options: JsonRuleOptions = {}): JsonValue {
  const issues = jsonIssues(value, options);
  if (issues.length > 0) throw new ValidationError(what, issues);
  return value as JsonValue;
}

/** The JSON check as a zod refinement: `z.custom<T>().superRefine(jsonRefinement())`. */
export function jsonRefinement(options: JsonRuleOptions = {}): (value: unknown, ctx: z.RefinementCtx) => void {
  return (value, ctx) => walk(value, options, (segments, message) => ctx.addIssue({ code: 'custom', path: zodSegments(segments), message }));
}

/**
 * zod schema of a JSON value that passes `jsonIssues`. The value is checked, never copied, so
 * what was checked is what is stored (a zod record would rebuild it and lose `__proto__`).
 */
export function jsonValueSchema(options: JsonRuleOptions = {}): z.ZodType<JsonValue> {
  return customSchema<JsonValue>((value, ctx) => jsonRefinement(options)(value, ctx));
}

/** zod schema of a JSON object (not an array, not null) that passes `jsonIssues`. */
export function jsonObjectSchema(options: JsonRuleOptions = {}): z.ZodType<JsonObject> {
  const refine = jsonRefinement(options);
  return customSchema<JsonObject>((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
    else refine(value, ctx);
  });
}

/** A JSON value with the default options. */
export const JsonValueSchema = jsonValueSchema();
/** A JSON object with the default options. */
export const JsonObjectSchema = jsonObjectSchema();

function customSchema<T>(check: (value: unknown, ctx: z.RefinementCtx) => void): z.ZodType<T> {
  return z.custom<T>().superRefine(check);
}
