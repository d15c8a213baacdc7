import { describeCheckpointer } from './testing.js';
import { MemoryCheckpointer } from './memory-checkpointer.js';

describeCheckpointer({ name: 'MemoryCheckpointer', create: async (options) => new MemoryCheckpointer(options) });
