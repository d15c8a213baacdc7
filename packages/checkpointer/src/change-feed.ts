// A checkpointer's change feed: listeners per thread in this process, and (with a notifier) the
// same events to and from other instances of the same tenant, each heard once.
import type { CairnEvent, ChangeNotifier, TenantNotifier } from '@cairn/redis';
import type { CheckpointEvent } from './types.js';

/** The one notification channel of checkpoint events (tenants are told apart by the tenant feed). */
export const CHECKPOINT_CHANNEL = 'cairn:checkpoints';

/** Bound on remembered own events, in case their echo never comes. */
const MAX_ECHOES = 10_000;

export interface ChangeFeedOptions {
  tenantId: string;
  /** Other instances' channel; without one the feed is local to this process. */
  notifier: ChangeNotifier | undefined;
  /** Close the notifier with the feed (it was made for this checkpointer). */
  ownsNotifier: boolean;
  /** Another instance changed a thread (before this instance's listeners hear of it). */
  onRemoteChange: (event: CheckpointEvent) => void;
  /** Failures nobody awaits: a listener's exception, a publish or subscribe that failed. */
  reportError: (error: unknown) => void;
}

export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #listeners = new Map<string, Set<(event: CheckpointEvent) => void>>();
  #tenantFeed: TenantNotifier | undefined;
  #remote: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Events this instance published while subscribed, to skip their echo from the notifier. */
  readonly #echoes = new Map<string, number>();

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  /** Adds a listener for one thread; resolves once other instances' events are heard too. */
  async subscribe(threadId: string, listener: (event: CheckpointEvent) => void): Promise<() => Promise<void>> {
    let set = this.#listeners.get(threadId);
    if (!set) this.#listeners.set(threadId, (set = new Set()));
    set.add(listener);
    await this.#listenRemote();
    return async () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(threadId);
    };
  }

  /** Tells this instance's listeners, then (best effort) other instances. */
  publish(event: CheckpointEvent): void {
    this.#deliver(event);
    const notifier = this.#feed();
    if (!notifier) return;
    const key = JSON.stringify(event);
    // Only while subscribed does our own event come back.
    if (this.#remote) {
      if (this.#echoes.size > MAX_ECHOES) this.#echoes.clear();
      this.#echoes.set(key, (this.#echoes.get(key) ?? 0) + 1);
    }
    // A notifier outage must not fail the write that already committed.
    notifier.publish(CHECKPOINT_CHANNEL, event as CairnEvent).catch((error: unknown) => {
      this.#forgetEcho(key);
      this.#options.reportError(error);
    });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    const unsubscribe = await this.#remote;
    await unsubscribe?.().catch(() => undefined);
    if (this.#options.ownsNotifier) await this.#options.notifier?.close();
  }

  /** This tenant's feed on the notifier (made on first use): it never hears another tenant's events. */
  #feed(): TenantNotifier | undefined {
    return this.#options.notifier && (this.#tenantFeed ??= this.#options.notifier.forTenant(this.#options.tenantId));
  }

  #forgetEcho(key: string): void {
    const n = (this.#echoes.get(key) ?? 1) - 1;
    if (n <= 0) this.#echoes.delete(key);
    else this.#echoes.set(key, n);
  }

  /** Subscribes once to other instances' events. */
  async #listenRemote(): Promise<void> {
    const notifier = this.#feed();
    if (!notifier) return;
    this.#remote ??= notifier
      .subscribe(CHECKPOINT_CHANNEL, (_channel, event) => {
        if (event.type !== 'checkpoint.saved' && event.type !== 'checkpoint.deleted') return;
        const key = JSON.stringify(event);
        if (this.#echoes.has(key)) {
          this.#forgetEcho(key);
          return;
        }
        this.#options.onRemoteChange(event);
        this.#deliver(event);
      })
      .catch((error: unknown) => {
        // Redis down: local listeners still work; try again on the next subscribe.
        this.#remote = undefined;
        this.#options.reportError(error);
        return undefined;
      });
    await this.#remote;
  }

  #deliver(event: CheckpointEvent): void {
    const set = this.#listeners.get(event.threadId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not fail the write that triggered it.
        this.#options.reportError(error);
      }
    }
  }
}
