import { deltaChannelHistoryTests, validate } from '@langchain/langgraph-checkpoint-validation';
import { postgresInitializer } from './initializers.js';

const initializer = postgresInitializer();
validate(initializer);
// Opt-in in the suite (the method is beta); CairnSaver relies on the base walk, checked here.
deltaChannelHistoryTests(initializer);
