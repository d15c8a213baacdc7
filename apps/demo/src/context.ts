// What every route module receives: the Cairn instance and the demo's services built on it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Cairn, Checkpointer } from '@cairn/cairn';
import type { DocumentLibrary } from './library.js';
import type { SseHub } from './sse.js';
import type { AgentState, AgentWorkflow } from './workflow.js';

/** The Fastify instance with zod schemas as its type provider. */
export type DemoApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** Services the routes share. */
export interface DemoContext {
  cairn: Cairn;
  /** `cairn.checkpointer`, typed with the workflow's state. */
  checkpointer: Checkpointer<AgentState>;
  workflow: AgentWorkflow;
  library: DocumentLibrary;
  hub: SseHub;
  /** Runs in progress, aborted when the server closes. */
  runs: Set<AbortController>;
}
