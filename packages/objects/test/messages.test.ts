// MessageStore on PostgreSQL; the same suite runs on PGlite in messages-pglite.test.ts.
import { createTestDb } from '@cairn/db/testing';
import { describeMessageSuite } from './message-suite.js';

describeMessageSuite({ name: 'PostgreSQL', open: () => createTestDb() });
