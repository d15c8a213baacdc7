// Checkpoint ids: UUIDv7 (RFC 9562) with a 30-bit counter in the bits after the millisecond
// timestamp (the RFC's "fixed bit-length dedicated counter", method 1). Ids made by one process
// sort in the order they were made, even within a millisecond or when the clock steps back; ids
// from different processes sort by time. Random bits come from a pooled crypto buffer: one
// `randomFillSync` per few hundred ids instead of one per id, which the put path notices.
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

function takeRandom(bytes: number): number {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += bytes;
  return at;
}

const COUNTER_MAX = 0x3fffffff;
let lastMs = -1;
let counter = 0;

/** A fresh, time-ordered checkpoint id (UUIDv7; strictly increasing within the process). */
export function newCheckpointId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // A random start (top bit clear) leaves at least 2^29 increments in this millisecond.
    counter = POOL.readUInt32BE(takeRandom(4)) >>> 3;
  } else if (counter < COUNTER_MAX) {
    counter += 1;
  } else {
    // Counter exhausted (or the clock went back that far): borrow the next millisecond.
    lastMs += 1;
    counter = 0;
  }
  const ms = lastMs;
  const high = Math.floor(ms / 0x100000000);
  const low = ms >>> 0;
  const r = takeRandom(5);
  const bytes = [
    (high >>> 8) & 0xff,
    high & 0xff,
    low >>> 24,
    (low >>> 16) & 0xff,
    (low >>> 8) & 0xff,
    low & 0xff,
    0x70 | ((counter >>> 26) & 0x0f),
    (counter >>> 18) & 0xff,
    0x80 | ((counter >>> 12) & 0x3f),
    (counter >>> 4) & 0xff,
    ((counter & 0x0f) << 4) | (POOL[r]! & 0x0f),
    POOL[r + 1]!,
    POOL[r + 2]!,
    POOL[r + 3]!,
    POOL[r + 4]!,
    POOL[r]! >>> 4,
  ];
  let id = '';
  for (let i = 0; i < 16; i += 1) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += '-';
    id += HEX[bytes[i]!];
  }
  return id;
}

/**
 * A fresh id that sorts after `after` (a UUIDv7 another host made, whose clock may run ahead of
 * this one's): when this clock is behind, the generator moves on to the millisecond after
 * `after`'s, so later ids of this process keep sorting after it too. Undefined when `after` is no
 * UUID whose first 48 bits are a millisecond timestamp (then no id can be promised to sort later).
 */
export function newCheckpointIdAfter(after: string): string | undefined {
  const id = newCheckpointId();
  if (id > after) return id;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(after)) return undefined;
  const ms = Number.parseInt(after.slice(0, 8) + after.slice(9, 13), 16);
  if (!Number.isSafeInteger(ms) || ms < 0) return undefined;
  lastMs = Math.max(lastMs, ms);
  // Past this millisecond's counter: the next id borrows the following millisecond.
  counter = COUNTER_MAX;
  const later = newCheckpointId();
  return later > after ? later : undefined;
}
