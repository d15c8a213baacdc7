// The class-based style: domain objects that know how to turn themselves into data (`toData()`) and
// back (`static fromData()`), saved and loaded by type and id, as in object-persistence frameworks
// for distributed objects. Built on a typed Collection, so validation, history and concurrency are
// the same; the repository remembers the version each instance was loaded at and saves with it.
import type { Page } from './cursor.js';
import { BIND, type Collection, type CollectionContext, type FindOptions, type ListOptions, type ObjectRecord } from './collection.js';
import type { PersistenceMode } from './options.js';
import type { QueuedWrite } from './write-behind-queue.js';

/** An object the store can persist: it has an id and can describe itself as data. */
export interface Persistable<D> {
  readonly id: string;
  /** The data to store (validated by the repository's schema). */
  toData(): D;
}

/** The class side of a Persistable: rebuilds an instance from stored data. */
export interface PersistableClass<T extends Persistable<D>, D> {
  fromData(data: D, id: string): T;
}

/** What EntityRepository.save() returns. */
export type EntitySaveResult<D, M extends PersistenceMode> = M extends 'write-behind' ? ObjectRecord<D> | QueuedWrite<ObjectRecord<D>> : ObjectRecord<D>;

/**
 * A repository of class instances of one type. Obtain it from `store.entities(type, Class, schema?)`.
 *
 * Optimistic locking is automatic: an instance loaded (or saved) through the repository is saved
 * with `expectedVersion` = the version it was loaded at, so a concurrent change raises
 * VersionConflictError instead of being overwritten. Instances created with `new` are upserted
 * unless an `expectedVersion` is given. (In write-behind mode, tracked saves are therefore
 * synchronous; only untracked ones are queued.)
 */
export class EntityRepository<T extends Persistable<D>, D, M extends PersistenceMode = 'sync'> {
  readonly #collection: Collection<D, D, M>;
  readonly #cls: PersistableClass<T, D>;
  readonly #versions: WeakMap<T, number>;

  /** @internal use ObjectStore.entities(). */
  constructor(collection: Collection<D, D, M>, cls: PersistableClass<T, D>, versions: WeakMap<T, number> = new WeakMap()) {
    this.#collection = collection;
    this.#cls = cls;
    this.#versions = versions;
  }

  /** @internal */
  [BIND](ctx: CollectionContext): EntityRepository<T, D, 'sync'> {
    return new EntityRepository<T, D, 'sync'>(this.#collection[BIND](ctx), this.#cls, this.#versions);
  }

  /** The stored type name. */
  get type(): string {
    return this.#collection.type;
  }

  /** The version an instance was last loaded or saved at through this repository, if any. */
  versionOf(entity: T): number | undefined {
    return this.#versions.get(entity);
  }

  /**
   * Saves the instance under `entity.id`. Uses the version it was loaded at (or `expectedVersion`)
   * for optimistic locking; `{ expectedVersion: undefined }` is not a way out: pass `force: true`
   * to overwrite whatever is stored.
   */
  async save(entity: T, options: { expectedVersion?: number; force?: boolean } = {}): Promise<EntitySaveResult<D, M>> {
    const expectedVersion = options.force ? undefined : (options.expectedVersion ?? this.#versions.get(entity));
    const data = entity.toData();
    if (expectedVersion === undefined) {
      const result = await this.#collection.save(entity.id, data);
      if ('version' in result) this.#versions.set(entity, result.version);
      return result;
    }
    const record = await this.#collection.save(entity.id, data, { expectedVersion });
    this.#versions.set(entity, record.version);
    return record;
  }

  /** The instance, or null when it does not exist. */
  async load(id: string): Promise<T | null> {
    const record = await this.#collection.load(id);
    return record ? this.#hydrate(record) : null;
  }

  /** The instance; ObjectNotFoundError when it does not exist. */
  async get(id: string): Promise<T> {
    return this.#hydrate(await this.#collection.get(id));
  }

  /** Whether an object with this id exists. */
  exists(id: string): Promise<boolean> {
    return this.#collection.exists(id);
  }

  /** Deletes by id or instance (an instance loaded here is deleted only at its loaded version). */
  async delete(target: string | T): Promise<boolean> {
    if (typeof target === 'string') {
      const result = await this.#collection.delete(target);
      return typeof result === 'boolean' ? result : result.persisted();
    }
    const version = this.#versions.get(target);
    const deleted = version === undefined ? await this.delete(target.id) : await this.#collection.delete(target.id, { expectedVersion: version });
    this.#versions.delete(target);
    return deleted;
  }

  /**
   * Loads the instance, lets `fn` change it (or return a replacement) and saves it, retrying on
   * conflicts like Collection.update(). `fn` may run several times.
   */
  async update(id: string, fn: (entity: T) => T | void | Promise<T | void>, options: { maxAttempts?: number } = {}): Promise<T> {
    let result: T | undefined;
    const record = await this.#collection.update(
      id,
      async (data) => {
        const entity = this.#cls.fromData(data, id);
        result = (await fn(entity)) ?? entity;
        return result.toData();
      },
      options,
    );
    this.#versions.set(result!, record.version);
    return result!;
  }

  /** One page of instances. */
  async list(options: ListOptions = {}): Promise<Page<T>> {
    const page = await this.#collection.list(options);
    return { items: page.items.map((r) => this.#hydrate(r)), nextCursor: page.nextCursor };
  }

  /** One page of instances whose data matches the filter (see Collection.find()). */
  async find(options: FindOptions<D> = {}): Promise<Page<T>> {
    const page = await this.#collection.find(options);
    return { items: page.items.map((r) => this.#hydrate(r)), nextCursor: page.nextCursor };
  }

  /** The typed collection underneath (history, patch, count, ...). */
  get collection(): Collection<D, D, M> {
    return this.#collection;
  }

  #hydrate(record: ObjectRecord<D>): T {
    const entity = this.#cls.fromData(record.data, record.id);
    this.#versions.set(entity, record.version);
    return entity;
  }
}
