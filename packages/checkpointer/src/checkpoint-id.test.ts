import { describe, expect, it } from '@jest/globals';
import { newCheckpointId } from './checkpoint-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newCheckpointId', () => {
  it('makes RFC 9562 version 7 UUIDs carrying the clock\'s millisecond', () => {
    const realNow = Date.now;
    // A fixed clock ahead of the real one (so it is a new millisecond for the generator).
    const ms = realNow() + 3_600_000;
    try {
      Date.now = () => ms;
      const id = newCheckpointId();
      expect(id).toMatch(UUID_V7);
      expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
    } finally {
      Date.now = realNow;
    }
  });

  it('is strictly increasing within the process, many ids per millisecond', () => {
    const ids = Array.from({ length: 100_000 }, () => newCheckpointId());
    for (let i = 1; i < ids.length; i += 1) {
      if (!(ids[i - 1]! < ids[i]!)) throw new Error(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) expect(id).toMatch(UUID_V7);
  });

  it('keeps increasing when the clock steps back', () => {
    const realNow = Date.now;
    const first = newCheckpointId();
    try {
      Date.now = () => realNow() - 60_000;
      const second = newCheckpointId();
      expect(second > first).toBe(true);
    } finally {
      Date.now = realNow;
    }
  });
});
