// A session as stored, and the cache seam the session manager reads it through (redis-caches.ts
// implements it).
import type { JsonObject } from '@cairn/core';

/** A session as stored. */
export interface SessionRecord<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly id: string;
  readonly userId: string;
  readonly metadata: M;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastActivityAt: Date;
  /** null: never expires. */
  readonly expiresAt: Date | null;
}

/** @internal A read-through cache of session records (Redis in practice). Must never throw for outages. */
export interface SessionCache {
  getOrLoad(key: string, loader: () => Promise<SessionRecord<JsonObject> | null>, ttlSeconds: (value: SessionRecord<JsonObject>) => number): Promise<SessionRecord<JsonObject> | null>;
  invalidate(key: string): Promise<void>;
  close?(): Promise<void>;
}
