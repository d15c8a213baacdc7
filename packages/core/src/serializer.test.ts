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
});
