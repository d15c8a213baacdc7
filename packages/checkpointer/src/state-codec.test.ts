import { describe, expect, it } from '@jest/globals';
import { JsonSerializer, SerializationError, type Serializer } from '@cairn/core';
import { StateCodec, unpackStored } from './state-codec.js';

const big = { text: 'the same words again and again '.repeat(2000) };

describe('StateCodec', () => {
  it('leaves small values uncompressed', async () => {
    const codec = new StateCodec(new JsonSerializer(), [], { algorithm: 'gzip', thresholdBytes: 1024 });
    const packed = await codec.pack(codec.encode({ a: 1 }));
    expect(packed.format).toBe('json-v1');
    expect(codec.decode(await codec.unpack(packed))).toEqual({ a: 1 });
  });

  it.each([
    ['gzip', '+gzip'],
    ['brotli', '+br'],
  ] as const)('compresses large values with %s and names it in the format', async (algorithm, suffix) => {
    const codec = new StateCodec(new JsonSerializer(), [], { algorithm, thresholdBytes: 1024 });
    const encoded = codec.encode(big);
    const packed = await codec.pack(encoded);
    expect(packed.format).toBe(`json-v1${suffix}`);
    expect(packed.bytes.byteLength).toBeLessThan(encoded.data.byteLength / 10);
    expect(codec.decode(await codec.unpack(packed))).toEqual(big);
  });

  it('reads rows written with any compression, whatever it writes now', async () => {
    const gzip = new StateCodec(new JsonSerializer(), [], { algorithm: 'gzip', thresholdBytes: 0 });
    const none = new StateCodec(new JsonSerializer(), [], { algorithm: 'none', thresholdBytes: 0 });
    const stored = await gzip.pack(gzip.encode(big));
    expect(none.decode(await none.unpack(stored))).toEqual(big);
  });

  it('stores incompressible data as it is', async () => {
    const codec = new StateCodec(new JsonSerializer(), [], { algorithm: 'gzip', thresholdBytes: 0 });
    const random = { format: 'raw', data: new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * 7919) % 256)) };
    expect((await codec.pack(random)).format).toBe('raw');
  });

  it('picks the reading serializer by format and names unknown formats', () => {
    const upper: Serializer = {
      format: 'upper-v1',
      serialize: (v) => new TextEncoder().encode(String(v).toUpperCase()),
      deserialize: (b) => new TextDecoder().decode(b),
    };
    const writer = new StateCodec(upper, [new JsonSerializer()], { algorithm: 'none', thresholdBytes: 0 });
    expect(writer.decode(writer.encode('abc'))).toBe('ABC');
    expect(writer.decode(new StateCodec(new JsonSerializer(), [], { algorithm: 'none', thresholdBytes: 0 }).encode([1]))).toEqual([1]);
    expect(() => writer.decode({ format: 'msgpack', data: new Uint8Array() })).toThrow(SerializationError);
  });

  it('reports corrupt compressed data as a SerializationError', async () => {
    await expect(unpackStored(new Uint8Array([1, 2, 3]), 'json-v1+gzip')).rejects.toBeInstanceOf(SerializationError);
  });
});
