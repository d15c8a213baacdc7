// The shared suite on PostgreSQL 15 + pgvector (a fresh database per file).
import { createTestDb } from '@cairn/db/testing';
import { describeRagSuite } from './rag-suite.js';

describeRagSuite({ name: 'PostgreSQL', open: () => createTestDb() });
