// What a backend's storage primitives receive and return: rows with states already packed.
import type { FilterNode } from '@cairn/core';
import type { StoredBytes } from './state-codec.js';
import type { Metadata } from './types.js';

/** A write as backends store it. */
export interface StoredWrite {
  taskId: string;
  taskPath: string;
  idx: number;
  channel: string;
  value: StoredBytes;
}

/** A checkpoint as backends return it (state still packed). */
export interface StoredRow {
  threadId: string;
  namespace: string;
  checkpointId: string;
  parentId: string | null;
  step: number;
  state: StoredBytes;
  metadata: Metadata;
  createdAt: Date;
  writes: StoredWrite[];
}

/** Flags of an insert. */
export interface InsertFlags {
  ifExists: 'error' | 'replace';
  requireParent: boolean;
  /** For single puts with optimistic concurrency: the latest id the caller expects (null: none). */
  expectedLatestId?: string | null | undefined;
}

/** A resolved list query. */
export interface StoreListQuery {
  threadId?: string | undefined;
  namespace?: string | undefined;
  checkpointId?: string | undefined;
  before?: string | undefined;
  after?: string | undefined;
  /** The metadata filter in the one filter language (see metadataFilter in base-checkpointer.ts). */
  metadata?: FilterNode | undefined;
  limit: number;
  order: 'asc' | 'desc';
}
