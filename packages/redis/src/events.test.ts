import { describe, expect, it } from '@jest/globals';
import { CairnEventSchema, channelSchema, patternSchema, patternToRegExp } from './events.js';

describe('channel patterns', () => {
  it('match any run of characters at each star, and dots literally', () => {
    const re = patternToRegExp('cairn:*.saved');
    expect(re.test('cairn:checkpoint.saved')).toBe(true);
    expect(re.test('cairn:a:b.saved')).toBe(true);
    expect(re.test('cairn:checkpointXsaved')).toBe(false);
    expect(re.test('xcairn:a.saved')).toBe(false);
    expect(patternToRegExp('exact').test('exact:more')).toBe(false);
  });

  it('accept only names that are safe on Redis and PostgreSQL alike', () => {
    expect(channelSchema.safeParse('cairn:objects.Note-1_x').success).toBe(true);
    for (const bad of ['', 'a b', "x'; DROP", 'a*', 'ä', 'x'.repeat(201)]) expect(channelSchema.safeParse(bad).success).toBe(false);
    expect(patternSchema.safeParse('cairn:*').success).toBe(true);
    expect(patternSchema.safeParse('cairn:[ab]').success).toBe(false);
  });
});

describe('CairnEventSchema', () => {
  it('accepts each event type and rejects incomplete ones', () => {
    const events = [
      { type: 'checkpoint.saved', tenantId: 't', threadId: 'th', namespace: '', checkpointId: 'c' },
      { type: 'checkpoint.deleted', tenantId: 't', threadId: 'th' },
      { type: 'object.updated', tenantId: 't', objectType: 'Note', id: 'n', version: 3 },
      { type: 'object.deleted', tenantId: 't', objectType: 'Note', id: 'n' },
      { type: 'session.expired', tenantId: 't', sessionId: 's' },
    ];
    for (const e of events) expect(CairnEventSchema.parse(e)).toEqual(e);
    expect(CairnEventSchema.safeParse({ type: 'object.updated', tenantId: 't', objectType: 'Note', id: 'n' }).success).toBe(false);
    expect(CairnEventSchema.safeParse({ type: 'object.updated', tenantId: 't', objectType: 'Note', id: 'n', version: -1 }).success).toBe(false);
    expect(CairnEventSchema.safeParse({ type: 'unknown', tenantId: 't' }).success).toBe(false);
  });

  it("holds ids and tenant ids to @cairn/core's rules", () => {
    const saved = { type: 'checkpoint.saved', tenantId: 'acme', threadId: 'th', namespace: '', checkpointId: 'c' };
    const refused = (patch: Record<string, unknown>) => CairnEventSchema.safeParse({ ...saved, ...patch }).success === false;
    // Lone surrogates would reach Redis and PostgreSQL as U+FFFD: two threads, one event.
    expect(refused({ threadId: 'a\uD800b' })).toBe(true);
    expect(refused({ namespace: 'n\uDBFF' })).toBe(true);
    expect(refused({ checkpointId: '東'.repeat(171) })).toBe(true); // 513 bytes
    expect(refused({ tenantId: 'acme corp' })).toBe(true);
    expect(refused({ tenantId: 'x'.repeat(129) })).toBe(true);
    expect(refused({ threadId: 'a\nb' })).toBe(true);
    expect(refused({ threadId: '東'.repeat(170) + 'ab', tenantId: 'acme:eu-1@x', namespace: 'a\uD800\uDC00' })).toBe(false);
  });
});
