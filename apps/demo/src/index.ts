// @cairn/demo as a library: the server and its parts, for embedding the demo in tests or another
// process. The command line is src/main.ts.
export { buildServer, listen, type ServerOptions, type DemoServer } from './server.js';
export { AgentWorkflow, NODES, keywordsOf, nextNode, nodeOf, NothingToResumeError, type AgentState, type NodeName, type RunOptions, type RunResult, type Retriever } from './workflow.js';
export { TemplateModel, OpenAiChatModel, ModelError, type AnswerModel, type DraftInput, type Source, type Message, type OpenAiChatModelOptions } from './model.js';
export { DocumentLibrary, SEARCH_MODES, slugify, titleFromText, chunkCount, type SearchMode, type SearchInput, type SearchHit, type SourceInfo, type IngestInput } from './library.js';
export { seedDemo, SAMPLE_DOCS_DIR, DEMO_USER, type SeedResult } from './seed.js';
export { DemoEnvSchema, readEnv, type DemoEnv } from './env.js';
export { openCairn, modelFromEnv, DEFAULT_DATA_DIR } from './open-cairn.js';
export { ProgressBar, type ProgressBarOptions, type ProgressStream } from './progress-bar.js';
export { SseHub, type SseStream } from './sse.js';
export { HttpError, toErrorBody, type ErrorBody } from './http-errors.js';
export type { DemoApp, DemoContext } from './context.js';
