// The shared suite on the embedded database: PGlite (PostgreSQL 18 in WASM) with pgvector 0.8.7,
// migrated in memory. Data sizes stay small: WASM is several times slower than a native server.
import { createDb } from '@cairn/db';
import { describeRagSuite } from './rag-suite.js';

describeRagSuite({ name: 'PGlite (embedded)', open: () => createDb({ embedded: { inMemory: true } }) });
