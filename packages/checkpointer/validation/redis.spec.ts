import { deltaChannelHistoryTests, validate } from '@langchain/langgraph-checkpoint-validation';
import { postgresInitializer } from './initializers.js';

const initializer = postgresInitializer({ redis: true });
validate(initializer);
deltaChannelHistoryTests(initializer);
