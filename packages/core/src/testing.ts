// `@cairn/core/testing`: fast-check arbitraries of hostile input (lone surrogates, NUL, control and
// astral characters, prototype keys, deep and wide JSON) and the oracle that says whether a value
// survives a trip through JSON text unchanged. Every package's fuzz tests draw from the same
// generators, so "what the input rules must survive" is written once, and run the same
// round-trip-or-refusal loop over them. Needs fast-check.
import fc from 'fast-check';
import { CairnError } from './errors.js';
import { StorageError } from './storage-errors.js';

/** Characters that have broken storage before, mixed with ordinary ones. */
const SPECIAL_CHARACTERS = ['\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\n', '\t', '\u001F', '\u007F', '\u0085', '\u00A0', '\u2028', '\uFFFD', '\uFEFF', 'é', 'e\u0301', '\u{1F680}', "'", '"', '\\', '%', '_'];

/** One UTF-16 "character": printable ASCII mostly, any code unit (so lone surrogates), astral, or a known troublemaker. */
export const hostileChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARACTERS) },
);

/** Strings of hostile characters. */
export function hostileString(constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  return fc.string({ unit: hostileChar, minLength: constraints.minLength ?? 0, maxLength: constraints.maxLength ?? 12 });
}

/** Id-like strings: mostly short, sometimes long enough (in UTF-8 bytes) to pass a 512-byte bound. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: hostileString({ maxLength: 10 }) },
  { weight: 1, arbitrary: hostileString({ minLength: 150, maxLength: 600 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'é', '東', '\u{1F680}'), minLength: 120, maxLength: 520 }) },
);

/** Object keys: hostile strings and the names JavaScript treats specially. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileString({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$cairn', '', '0', 'a.b') },
);

/** Builds an object with exactly these own keys (a `__proto__` key stays an own property, as JSON.parse makes it). */
export function objectFromEntries(entries: readonly (readonly [string, unknown])[], nullPrototype = false): Record<string, unknown> {
  const out: Record<string, unknown> = nullPrototype ? (Object.create(null) as Record<string, unknown>) : {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Options of hostileJson. */
export interface HostileJsonOptions {
  /** Also produce what JSON cannot hold: undefined, NaN, ±Infinity, bigint, Date, functions, class instances. @defaultValue true */
  nonJson?: boolean;
  /** Longest chain of nested single-key objects or arrays added around a value. @defaultValue 12 */
  maxChain?: number;
}

class Opaque {
  constructor(readonly x: number) {}
}

/** Values that are JSON-like: nested arrays and objects with hostile strings, keys and numbers. */
export function hostileJson(options: HostileJsonOptions = {}): fc.Arbitrary<unknown> {
  const nonJson = options.nonJson ?? true;
  const scalars: fc.Arbitrary<unknown>[] = [
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: !nonJson, noDefaultInfinity: !nonJson }),
    hostileString(),
  ];
  const exotic: fc.Arbitrary<unknown>[] = nonJson
    ? [
        fc.constant(undefined),
        fc.bigInt(),
        fc.date({ noInvalidDate: true }),
        fc.constant(() => 1),
        fc.integer().map((x) => new Opaque(x)),
      ]
    : [];
  const { tree } = fc.letrec<{ tree: unknown; leaf: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
    leaf: fc.oneof({ weight: 8, arbitrary: fc.oneof(...scalars) }, ...(exotic.length > 0 ? [{ weight: 1, arbitrary: fc.oneof(...exotic) }] : [])),
    array: fc.array(tie('tree'), { maxLength: 4 }),
    object: fc
      .tuple(fc.array(fc.tuple(hostileKey, tie('tree')), { maxLength: 4 }), fc.boolean())
      .map(([entries, nullProto]) => objectFromEntries(entries, nullProto && entries.length % 3 === 0)),
    tree: fc.oneof({ depthSize: 'small', maxDepth: 5 }, tie('leaf'), tie('array'), tie('object')),
  }));
  const maxChain = options.maxChain ?? 12;
  return fc
    .tuple(tree, fc.integer({ min: 0, max: maxChain }), fc.boolean())
    .map(([value, chain, asArray]) => {
      let out = value;
      for (let i = 0; i < chain; i += 1) out = asArray ? [out] : { k: out };
      return out;
    });
}

/**
 * Whether `value` survives JSON text unchanged: JSON.parse(JSON.stringify(value)) has the same
 * own keys (`__proto__` included) and the same values, with -0 equal to 0 (JSON has no negative
 * zero), and the text holds no `\u0000` or lone-surrogate escape (what PostgreSQL's jsonb refuses).
 * Recursive: for the modest depths of generated values.
 */
export function survivesJsonText(value: unknown): boolean {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return false;
  }
  if (text === undefined) return false;
  // An escaped NUL, or an escaped surrogate (JSON.stringify escapes only unpaired ones), preceded
  // by an even number of backslashes: what jsonb refuses.
  if (/(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(text)) return false;
  return jsonEqual(value, JSON.parse(text));
}

/** Deep equality of JSON values as PostgreSQL's jsonb compares them (key order ignored, -0 = 0). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!(i in a) || !jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const proto = Object.getPrototypeOf(a) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length || Object.getOwnPropertySymbols(a).length > 0) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual((a as Record<string, unknown>)[k], rb[k]));
}

/** Nesting depth of arrays and objects (a scalar is 0). Recursive, like survivesJsonText. */
export function jsonDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let max = 0;
  for (const child of Object.values(value)) max = Math.max(max, jsonDepth(child));
  return max + 1;
}

/** Whether an own key `__proto__` occurs anywhere in `value`. */
export function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

/** What a round-trip-or-refusal fuzz saw: calls that read back exactly, and calls refused. */
export interface RoundTripTally {
  roundTrips: number;
  refused: number;
}

/**
 * A refusal the fuzz accepts: a Cairn error of category invalid_input raised before storage. A
 * StorageError (the database refused what the rules let through) or a raw driver error is a bug.
 */
export function isInputRefusal(error: unknown): boolean {
  return error instanceof CairnError && !(error instanceof StorageError) && error.category === 'invalid_input';
}

/**
 * Runs one write. It either throws a refusal (`isRefusal`, else the error is rethrown wrapped so
 * the test fails naming it) or returns the check that reads back what it wrote, which then runs.
 */
export async function roundTripOrRefusal(
  tally: RoundTripTally,
  write: () => Promise<() => Promise<void>>,
  isRefusal: (error: unknown) => boolean = isInputRefusal,
): Promise<void> {
  let readBack: () => Promise<void>;
  try {
    readBack = await write();
  } catch (error) {
    if (!isRefusal(error)) throw new Error(`expected a typed Cairn input error raised before storage, got ${String(error)}`, { cause: error });
    tally.refused += 1;
    return;
  }
  await readBack();
  tally.roundTrips += 1;
}

/** Seeded and bounded, so the suite is reproducible and its length fixed. */
export interface FuzzRunOptions {
  seed: number;
  numRuns: number;
  isRefusal?: (error: unknown) => boolean;
}

/**
 * The fuzz of a public write API: every generated call round-trips exactly or is refused with a
 * typed input error (see roundTripOrRefusal). Returns the tally, so the test can check that both
 * outcomes occurred (the generators reach the rules from both sides).
 */
export async function fuzzRoundTrips<T>(calls: fc.Arbitrary<T>, perform: (call: T) => Promise<() => Promise<void>>, options: FuzzRunOptions): Promise<RoundTripTally> {
  const tally: RoundTripTally = { roundTrips: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(calls, (call) => roundTripOrRefusal(tally, () => perform(call), options.isRefusal)),
    { seed: options.seed, numRuns: options.numRuns },
  );
  return tally;
}

/** The error a promise rejects with, or undefined when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

export { FILTER_CASES, FILTER_CASE_DOCUMENTS, FILTER_CASE_LANGUAGE, filterOfCase, type FilterCase } from './filter-cases.js';
