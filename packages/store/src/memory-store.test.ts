import { CairnMemoryStore, MemoryStoreData } from './memory-store.js';
import { describeStore } from './testing.js';

const data = new MemoryStoreData();
describeStore({ name: 'CairnMemoryStore', create: async (options) => new CairnMemoryStore(options, data) });
