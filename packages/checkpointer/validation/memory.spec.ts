import { deltaChannelHistoryTests, validate } from '@langchain/langgraph-checkpoint-validation';
import { memoryInitializer } from './initializers.js';

const initializer = memoryInitializer();
validate(initializer);
deltaChannelHistoryTests(initializer);
