// MessageStore on the embedded database: PGlite, migrated in memory.
import { createDb } from '@cairn/db';
import { describeMessageSuite } from './message-suite.js';

describeMessageSuite({ name: 'PGlite (embedded)', open: () => createDb({ embedded: { inMemory: true } }) });
