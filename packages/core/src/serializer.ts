// The serializer seam shared by the checkpointer and the Redis cache: storage code deals in bytes,
// the serializer decides how values become bytes. Kept apart so users can plug their own.
import { isAscii } from 'node:buffer';
import { z } from 'zod';
import { SerializationError } from './errors.js';

/** Turns values into bytes and back. `format` is stored beside the bytes so old rows stay readable. */
export interface Serializer {
  /** Stable name of the encoding, e.g. `json-v1`. Stored with every value. */
  readonly format: string;
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
  /**
   * For formats whose bytes are UTF-8 text: decodes from the text itself. Optional; transports that
   * already hand back a string (a Redis GET) use it to skip a byte copy and a second decoding pass.
   */
  deserializeText?(text: string): unknown;
}

/** A Serializer, checked by shape (a format name and the two conversions), for option schemas. */
export const SerializerSchema = z.custom<Serializer>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Partial<Serializer>).format === 'string' &&
    typeof (v as Partial<Serializer>).serialize === 'function' &&
    typeof (v as Partial<Serializer>).deserialize === 'function',
  'must implement Serializer (format, serialize, deserialize)',
);

const TAG = '$cairn';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSON with the types agent state really holds: Date, BigInt, Map, Set, Uint8Array/Buffer,
 * RegExp, undefined (inside objects and arrays), NaN and ±Infinity. Class instances become plain
 * data (their own enumerable properties). Circular references, functions and symbols are rejected
 * with a SerializationError naming the path, before anything is written.
 *
 * Special values are written as `{ "$cairn": "<type>", "v": ... }`; a plain object that happens to
 * have a `$cairn` key is escaped the same way, so every input round-trips, an own `__proto__` key
 * included (JSON.parse makes those). -0 is written as 0, as JSON and jsonb do, so a value reads
 * back the same from a cache and from PostgreSQL. Values nested deeper than `maxDepth` levels are refused with a
 * SerializationError naming the path, so depth never surfaces as a RangeError of the stack.
 */
export class JsonSerializer implements Serializer {
  readonly format = 'json-v1';
  /** Deepest nesting of the JSON written, in levels (a Map holds its entries 3 levels down, a Set 2). */
  readonly maxDepth: number;

  /**
   * @param options.maxDepth - @defaultValue 1000 (V8's own JSON.stringify gives up near 4,000 levels,
   *   and the encoding walk recurses once per level)
   */
  constructor(options: { maxDepth?: number } = {}) {
    this.maxDepth = options.maxDepth ?? 1000;
  }

  serialize(value: unknown): Uint8Array {
    return Buffer.from(JSON.stringify(encode(value, '$', new Set(), this.maxDepth)), 'utf8');
  }

  deserialize(bytes: Uint8Array): unknown {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Most stored JSON is ASCII: latin1 decoding copies it without the UTF-8 validation pass.
    return this.deserializeText(isAscii(buffer) ? buffer.toString('latin1') : buffer.toString('utf8'));
  }

  deserializeText(text: string): unknown {
    let parsed: Json;
    try {
      parsed = JSON.parse(text) as Json;
    } catch (cause) {
      throw new SerializationError('Stored value is not valid JSON', { cause });
    }
    // Plain JSON (no tagged values anywhere) is already the value: skip the restoring walk.
    return text.includes(`"${TAG}"`) ? decodeGuarded(parsed) : parsed;
  }

  /** Encodes to a JSON string (for text channels such as Redis pub/sub). */
  stringify(value: unknown): string {
    return JSON.stringify(encode(value, '$', new Set(), this.maxDepth));
  }

  parse(text: string): unknown {
    const parsed = JSON.parse(text) as Json;
    return text.includes(`"${TAG}"`) ? decodeGuarded(parsed) : parsed;
  }
}

function tagged(type: string, v: Json): Json {
  return { [TAG]: type, v };
}

/** Sets an own property even for the key `__proto__`, which plain assignment turns into a prototype change. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function encode(value: unknown, path: string, ancestors: Set<object>, depth: number): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : tagged('number', String(value));
    case 'bigint':
      return tagged('bigint', value.toString());
    case 'undefined':
      return tagged('undefined', null);
    case 'function':
    case 'symbol':
      throw new SerializationError(`Cannot serialize a ${typeof value} at ${path}`, { details: { path } });
  }
  if (value === null) return null;
  const obj = value as object;
  if (ancestors.has(obj)) throw new SerializationError(`Cannot serialize a circular reference at ${path}`, { details: { path } });
  if (depth <= 0) throw new SerializationError(`Cannot serialize a value nested this deep at ${path.slice(0, 200)}`, { details: { path: path.slice(0, 200) } });
  ancestors.add(obj);
  try {
    if (obj instanceof Date) {
      return tagged('Date', Number.isNaN(obj.getTime()) ? null : obj.toISOString());
    }
    if (obj instanceof Uint8Array) return tagged('bytes', Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64'));
    if (obj instanceof RegExp) return tagged('RegExp', [obj.source, obj.flags]);
    if (Array.isArray(obj)) return obj.map((item, i) => encode(item, `${path}[${i}]`, ancestors, depth - 1));
    if (obj instanceof Map) {
      return tagged(
        'Map',
        [...obj.entries()].map(([k, v], i) => [encode(k, `${path}<key ${i}>`, ancestors, depth - 3), encode(v, `${path}<value ${i}>`, ancestors, depth - 3)]),
      );
    }
    if (obj instanceof Set) return tagged('Set', [...obj].map((item, i) => encode(item, `${path}<item ${i}>`, ancestors, depth - 2)));
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer || obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise) {
      throw new SerializationError(`Cannot serialize a ${obj.constructor.name} at ${path}`, { details: { path } });
    }
    // toJSON wins for types that define it (Decimal, Temporal, ...), as JSON.stringify would do.
    const withToJson = obj as { toJSON?: () => unknown };
    if (typeof withToJson.toJSON === 'function') return encode(withToJson.toJSON(), path, ancestors, depth);
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(obj)) setOwn(out, k, encode(v, `${path}.${k}`, ancestors, depth - 1));
    return TAG in out ? tagged('object', out) : out;
  } finally {
    ancestors.delete(obj);
  }
}

/** Stored values deeper than this reader's stack are a SerializationError, not a RangeError. */
function decodeGuarded(value: Json): unknown {
  try {
    return decode(value);
  } catch (cause) {
    if (cause instanceof RangeError) throw new SerializationError('Stored value is nested too deeply to decode', { cause });
    throw cause;
  }
}

function decode(value: Json): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  const type = value[TAG];
  if (typeof type !== 'string') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, decode(v));
    return out;
  }
  const v = value.v as Json;
  switch (type) {
    case 'undefined':
      return undefined;
    case 'number':
      return Number(v);
    case 'bigint':
      return BigInt(v as string);
    case 'Date':
      return new Date(v === null ? Number.NaN : (v as string));
    case 'bytes':
      return new Uint8Array(Buffer.from(v as string, 'base64'));
    case 'RegExp':
      return new RegExp((v as string[])[0] ?? '', (v as string[])[1] ?? '');
    case 'Map':
      return new Map((v as Json[][]).map(([k, val]) => [decode(k ?? null), decode(val ?? null)]));
    case 'Set':
      return new Set((v as Json[]).map(decode));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v as Record<string, Json>)) setOwn(out, k, decode(val));
      return out;
    }
    default:
      throw new SerializationError(`Unknown serialized type tag: ${type}`);
  }
}
