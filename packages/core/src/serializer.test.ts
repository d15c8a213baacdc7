import { describe, expect, it } from '@jest/globals';
import { JsonSerializer, SerializationError } from './index.js';

const serializer = new JsonSerializer();
const roundTrip = (value: unknown) => serializer.deserialize(serializer.serialize(value));

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm() {
    return Math.hypot(this.x, this.y);
  }
}

describe('JsonSerializer', () => {
  it('round-trips the types agent state holds', () => {
    const value = {
      when: new Date('2026-01-02T03:04:05.678Z'),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([['a', 1], [2, new Set([1, 2])]]),
      set: new Set(['x', 'y']),
      bytes: new Uint8Array([0, 1, 255]),
      buffer: Buffer.from('hi'),
      missing: undefined,
      list: [1, undefined, null, Number.NaN, Infinity, -Infinity],
      nested: { deep: { re: /a+b/gi } },
      $cairn: 'a user key that looks like a tag',
    };
    const back = roundTrip(value) as typeof value;
    expect(back.when).toEqual(value.when);
    expect(back.big).toBe(value.big);
    expect(back.map).toEqual(value.map);
    expect(back.set).toEqual(value.set);
    expect(back.bytes).toEqual(value.bytes);
    expect(Buffer.from(back.buffer).toString()).toBe('hi');
    expect('missing' in back).toBe(true);
    expect(back.missing).toBeUndefined();
    expect(back.list).toEqual(value.list);
    expect(back.nested.deep.re).toEqual(/a+b/gi);
    expect(back.$cairn).toBe(value.$cairn);
  });

  it('decodes ASCII and non-ASCII text alike', () => {
    const s = new JsonSerializer();
    for (const value of [{ text: 'plain ascii' }, { text: 'déjà vu — 東京 🚀' }, ['\u0000\u007f', '\u0080']]) {
      expect(s.deserialize(s.serialize(value))).toEqual(value);
    }
  });

  it('decodes from text the same as from bytes, with the same error for bad input', () => {
    const s = new JsonSerializer();
    const value = { when: new Date('2026-01-02T03:04:05.678Z'), n: 2n ** 70n, text: 'déjà' };
    const bytes = s.serialize(value);
    expect(s.deserializeText(Buffer.from(bytes).toString('utf8'))).toEqual(s.deserialize(bytes));
    expect(() => s.deserializeText('{not json')).toThrow(SerializationError);
  });

  it('turns class instances into plain data', () => {
    const back = roundTrip({ p: new Point(3, 4) }) as { p: unknown };
    expect(back.p).toEqual({ x: 3, y: 4 });
    expect(back.p).not.toBeInstanceOf(Point);
  });

  it('rejects circular input with the path of the cycle', () => {
    const state: Record<string, unknown> = { a: { b: {} } };
    (state.a as Record<string, Record<string, unknown>>).b!.loop = state;
    expect(() => serializer.serialize(state)).toThrow(SerializationError);
    expect(() => serializer.serialize(state)).toThrow('$.a.b.loop');
  });

  it('rejects functions and symbols', () => {
    expect(() => serializer.serialize({ f: () => 1 })).toThrow(/function at \$\.f/);
    expect(() => serializer.serialize([Symbol('s')])).toThrow(/symbol at \$\[0\]/);
  });

  it('keeps shared (non-circular) references', () => {
    const shared = { n: 1 };
    expect(roundTrip({ a: shared, b: shared })).toEqual({ a: { n: 1 }, b: { n: 1 } });
  });

  it('keeps an own __proto__ key as an own key, in plain and in tagged objects, and never changes a prototype', () => {
    const plain = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":1}}') as object;
    const back = roundTrip(plain) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
    const tagged = JSON.parse('{"__proto__":{"when":1},"$cairn":"user key"}') as Record<string, unknown>;
    tagged.when = new Date(0);
    const taggedBack = roundTrip(tagged) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(taggedBack, '__proto__')?.value).toEqual({ when: 1 });
    expect(taggedBack.when).toEqual(new Date(0));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('keeps lone surrogates and NUL exactly, and writes -0 as 0 as jsonb does', () => {
    const back = roundTrip({ z: -0, s: 'a\uD800b\u0000' }) as { z: number; s: string };
    expect(Object.is(back.z, 0)).toBe(true);
    expect(back.s).toBe('a\uD800b\u0000');
  });

  it('refuses values nested deeper than maxDepth with a SerializationError, never a RangeError', () => {
    const nest = (n: number, wrap: (v: unknown) => unknown) => {
      let v: unknown = 1;
      for (let i = 0; i < n; i += 1) v = wrap(v);
      return v;
    };
    expect(() => serializer.serialize(nest(1000, (v) => ({ a: v })))).not.toThrow();
    for (const depth of [1001, 10_000, 1_000_000]) {
      const error = (() => {
        try {
          serializer.serialize(nest(depth, (v) => [v]));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(SerializationError);
    }
    // A Map holds its entries three JSON levels down, so fewer of them fit.
    expect(() => serializer.serialize(nest(400, (v) => new Map([['k', v]])))).toThrow(SerializationError);
    expect(() => new JsonSerializer({ maxDepth: 3 }).serialize({ a: { b: { c: {} } } })).toThrow(/nested this deep at \$\.a\.b\.c/);
  });

  it('turns stored values too deep for the stack into a SerializationError on read', () => {
    const depth = 200_000;
    const text = '['.repeat(depth) + '{"$cairn":"undefined","v":null}' + ']'.repeat(depth);
    expect(() => serializer.deserializeText(text)).toThrow(SerializationError);
  });
});
