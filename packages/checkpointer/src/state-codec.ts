// Values to stored bytes and back: the serializer makes bytes, large ones are compressed, and the
// stored format string (`json-v1`, `json-v1+gzip`, `langgraph:json+br`) says how to undo both, so
// rows written with older settings stay readable.
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';
import { SerializationError, type Serializer } from '@cairn/core';
import type { EncodedValue } from './types.js';

/** Compression settings of a codec. */
export interface CompressionSettings {
  algorithm: 'gzip' | 'brotli' | 'none';
  thresholdBytes: number;
  level?: number | undefined;
}

const SUFFIX = { gzip: '+gzip', brotli: '+br' } as const;

// zlib's callback forms run in libuv's thread pool: compressing a large state never blocks the
// event loop, and concurrent writers compress in parallel.
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** What is stored in the bytea column and the format column. */
export interface StoredBytes {
  bytes: Uint8Array;
  format: string;
}

/** Serializes, compresses and reverses both. One per checkpointer. */
export class StateCodec {
  readonly serializer: Serializer;
  readonly #readers = new Map<string, Serializer>();
  readonly #compression: CompressionSettings;

  constructor(serializer: Serializer, readSerializers: readonly Serializer[], compression: CompressionSettings) {
    this.serializer = serializer;
    for (const s of [...readSerializers, serializer]) this.#readers.set(s.format, s);
    this.#compression = compression;
  }

  /** Serializes with the writing serializer (throws SerializationError for circular input etc.). */
  encode(value: unknown): EncodedValue {
    return { format: this.serializer.format, data: this.serializer.serialize(value) };
  }

  /** Deserializes with the serializer named by the format. */
  decode(value: EncodedValue): unknown {
    const serializer = this.#readers.get(value.format);
    if (!serializer) {
      throw new SerializationError(`No serializer for format '${value.format}' (known: ${[...this.#readers.keys()].join(', ')})`, {
        details: { format: value.format },
      });
    }
    return serializer.deserialize(value.data);
  }

  /**
   * Compresses when the value is large enough and compression pays off. Values below the
   * threshold come back at once, not as a promise: the put path spares itself the await.
   */
  pack(value: EncodedValue): StoredBytes | Promise<StoredBytes> {
    const { algorithm, thresholdBytes } = this.#compression;
    if (algorithm === 'none' || value.data.byteLength < thresholdBytes || value.format.includes('+')) {
      return { bytes: value.data, format: value.format };
    }
    return this.#compress(value, algorithm);
  }

  async #compress(value: EncodedValue, algorithm: 'gzip' | 'brotli'): Promise<StoredBytes> {
    const { level } = this.#compression;
    // Level 1 by default: on agent state (JSON text) it is several times faster than the zlib
    // defaults for a slightly larger result, and a put waits for it.
    const compressed =
      algorithm === 'gzip'
        ? await gzipAsync(value.data, { level: level ?? 1 })
        : await brotliAsync(value.data, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: level ?? 1,
              [constants.BROTLI_PARAM_SIZE_HINT]: value.data.byteLength,
            },
          });
    if (compressed.byteLength >= value.data.byteLength) return { bytes: value.data, format: value.format };
    return { bytes: compressed, format: `${value.format}${SUFFIX[algorithm]}` };
  }

  /** Undoes `pack`, whatever compression the row was written with. */
  unpack(stored: StoredBytes): Promise<EncodedValue> {
    return unpackStored(stored.bytes, stored.format);
  }
}

/** Decompresses according to the format suffix. Exported for tests and tools. */
export async function unpackStored(bytes: Uint8Array, format: string): Promise<EncodedValue> {
  try {
    if (format.endsWith(SUFFIX.gzip)) return { format: format.slice(0, -SUFFIX.gzip.length), data: await gunzipAsync(bytes) };
    if (format.endsWith(SUFFIX.brotli)) return { format: format.slice(0, -SUFFIX.brotli.length), data: await unbrotliAsync(bytes) };
  } catch (cause) {
    throw new SerializationError(`Stored value in format '${format}' cannot be decompressed`, { cause, details: { format } });
  }
  return { format, data: bytes };
}
