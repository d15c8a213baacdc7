// cairn.store: the LangGraph store createCairn wires on its own pool when given the `store` option,
// one per tenant view; absent without it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { CairnStore, WordHashEmbeddings } from '@cairn/store';
import { createCairn, type Cairn } from '../src/index.js';

let database: TestDatabase;
let cairn: Cairn;
beforeAll(async () => {
  database = await createTestDatabase();
  cairn = await createCairn({ databaseUrl: database.url, tenantId: 'acme', db: { pool: { max: 3 } }, store: { index: { dims: 16, embed: new WordHashEmbeddings(16), fields: ['text'] } } });
});
afterAll(async () => {
  await cairn?.close();
  await database?.drop();
});

describe('cairn.store', () => {
  it('is a CairnStore of the instance’s tenant on the instance’s pool', async () => {
    const store = cairn.store!;
    expect(store).toBeInstanceOf(CairnStore);
    expect(store.tenantId).toBe('acme');
    expect(store.db).toBe(cairn.db);
    await store.put(['memories', 'ada'], 'dog', { text: 'my dog is called Rex' });
    expect((await store.search(['memories'], { query: 'dog', limit: 1 }))[0]?.key).toBe('dog');
  });

  it('gives each tenant view a store of its own tenant, closed with the instance', async () => {
    const other = cairn.forTenant('globex');
    expect(other.store?.tenantId).toBe('globex');
    expect(cairn.forTenant('globex').store).toBe(other.store);
    expect(await other.store!.get(['memories', 'ada'], 'dog')).toBeNull();
  });

  it('is absent without the store option', async () => {
    const plain = await createCairn({ databaseUrl: database.url, db: { pool: { max: 1 } } });
    expect(plain.store).toBeUndefined();
    await plain.close();
  });
});
