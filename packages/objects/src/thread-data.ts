// The seam between threads and the data that belongs to them. Checkpoints and their pending
// writes are the checkpointer's tables: thread and session deletion (and the expired-session purge)
// hand the thread ids to their owner, inside the same transaction, instead of deleting those rows
// themselves, so the owner's caches and change events follow. createCairn passes the checkpointer.
import type pg from 'pg';
import { z } from 'zod';

/** What an owner's deletion left to do once the caller's transaction has committed. */
export interface ThreadDataDeletion {
  /** Checkpoints deleted. */
  readonly deleted: number;
  /** Runs after COMMIT: invalidates caches, publishes change events. Never throws. */
  afterCommit(): Promise<void>;
}

/** Owns data keyed by thread id in one tenant (PostgresCheckpointer implements it). */
export interface ThreadDataOwner {
  /**
   * Deletes everything of `threadIds` on `client`, inside the caller's open transaction; the
   * caller commits (or rolls back) and then runs `afterCommit`.
   */
  deleteThreadsInTransaction(client: pg.ClientBase, threadIds: readonly string[]): Promise<ThreadDataDeletion>;
}

/** The owner of each tenant's thread data (tenant views ask for theirs). */
export type ThreadDataOwners = (tenantId: string) => ThreadDataOwner;

export const ThreadDataOwnersSchema = z.custom<ThreadDataOwners>((f) => typeof f === 'function', 'must be a function of a tenant id returning its thread data owner');

const NOTHING: ThreadDataDeletion = { deleted: 0, afterCommit: async () => undefined };

/** Hands `threadIds` to the tenant's owner inside the transaction; nothing to do without one. */
export async function deleteThreadData(owners: ThreadDataOwners | undefined, tenantId: string, client: pg.ClientBase, threadIds: readonly string[]): Promise<ThreadDataDeletion> {
  if (!owners || threadIds.length === 0) return NOTHING;
  return owners(tenantId).deleteThreadsInTransaction(client, threadIds);
}
