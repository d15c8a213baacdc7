// The demo's agent: a small, deterministic multi-step workflow (receive → plan → retrieve → draft →
// review → answer) that writes one checkpoint per step. Because every step is a checkpoint, a run
// can stop anywhere and resume from the latest one, and rewinding the thread to an earlier
// checkpoint makes the next run continue from there.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Checkpoint, Checkpointer } from '@cairn/cairn';
import type { AnswerModel, Message, Source } from './model.js';

/** The nodes of the workflow, in order. */
export const NODES = ['receive', 'plan', 'retrieve', 'draft', 'review', 'answer'] as const;
/** One node of the workflow. */
export type NodeName = (typeof NODES)[number];

/** What every checkpoint of the workflow holds. Plain JSON, so it diffs and serialises simply. */
export interface AgentState {
  /** The node that produced this state. */
  node: NodeName;
  /** Conversation turn (1 for the first question). */
  turn: number;
  question: string;
  keywords: string[];
  plan: string[];
  sources: Source[];
  draft: string;
  review: { approved: boolean; notes: string[] };
  answer: string;
  messages: Message[];
}

/** Looks passages up for the retrieve step (the demo wires it to the RAG collection). */
export type Retriever = (query: string, k: number) => Promise<Source[]>;

/** Options of one run. */
export interface RunOptions {
  /** A new question starts a new turn; without one the run resumes from the latest checkpoint. */
  question?: string | undefined;
  /** Pause between steps in ms, so live updates can be watched. @defaultValue 0 */
  stepDelayMs?: number | undefined;
  /** Stop after this many steps (to show resuming an interrupted run). @defaultValue no limit */
  maxSteps?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What a run did. */
export interface RunResult {
  /** The nodes that ran, in order. */
  steps: NodeName[];
  /** The checkpoints written, in order (one per step). */
  checkpointIds: string[];
  /** The state after the last step. */
  state: AgentState;
  /** True when the workflow reached its `answer` node. */
  completed: boolean;
}

/** Thrown when there is nothing to run: no question and the latest checkpoint is a finished answer. */
export class NothingToResumeError extends Error {
  override readonly name = 'NothingToResumeError';
  readonly code = 'NOTHING_TO_RESUME';
  /** The thread's state does not allow the request: Conflict. */
  readonly statusCode = 409;
}

const STOP_WORDS = new Set(
  'a about after again all also an and any are as at be because been before being between both but by can could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is it its just me more most my no nor not now of off on once only or other our out over own same she should so some such than that the their them then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your'.split(' '),
);

/** The most telling words of a question, in order of first appearance (at most five). */
export function keywordsOf(text: string): string[] {
  const seen = new Set<string>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []) {
    if (word.length < 3 || STOP_WORDS.has(word) || seen.has(word)) continue;
    seen.add(word);
    if (seen.size === 5) break;
  }
  return [...seen];
}

/** A fresh state for turn `turn`, carrying the conversation so far. */
function startTurn(previous: AgentState | undefined, question: string): AgentState {
  return {
    node: 'receive',
    turn: (previous?.turn ?? 0) + 1,
    question,
    keywords: [],
    plan: [],
    sources: [],
    draft: '',
    review: { approved: false, notes: [] },
    answer: '',
    messages: [...(previous?.messages ?? []), { role: 'user', content: question }],
  };
}

/** Runs the workflow on threads stored in a Checkpointer. */
export class AgentWorkflow {
  readonly #checkpointer: Checkpointer<AgentState>;
  readonly #retrieve: Retriever;
  readonly #model: AnswerModel;

  constructor(checkpointer: Checkpointer<AgentState>, retrieve: Retriever, model: AnswerModel) {
    this.#checkpointer = checkpointer;
    this.#retrieve = retrieve;
    this.#model = model;
  }

  /** The name of the model writing drafts (`template` when deterministic). */
  get modelName(): string {
    return this.#model.name;
  }

  /**
   * Runs the workflow on `threadId`: with a question, a new turn from the latest state; without,
   * the remaining steps after the latest checkpoint. Each step is written with `expectedLatestId`,
   * so two runs racing on one thread cannot interleave: the loser gets the checkpointer's
   * ConflictError and stops.
   */
  async run(threadId: string, options: RunOptions = {}): Promise<RunResult> {
    const latest = await this.#checkpointer.get(threadId);
    let state: AgentState;
    let parentId: string | null = latest?.checkpointId ?? null;
    let next: NodeName | undefined;
    const steps: NodeName[] = [];
    const checkpointIds: string[] = [];

    const write = async (node: NodeName, nextState: AgentState) => {
      const id = await this.#checkpointer.put(threadId, nextState, {
        parentId,
        expectedLatestId: parentId,
        metadata: { node, turn: nextState.turn, source: 'loop', model: this.#model.name },
      });
      parentId = id;
      steps.push(node);
      checkpointIds.push(id);
    };

    if (options.question !== undefined) {
      state = startTurn(latest?.state, options.question);
      await write('receive', state);
      next = 'plan';
    } else {
      if (!latest) throw new NothingToResumeError(`Thread ${threadId} has no checkpoints: ask a question to start it`);
      state = latest.state;
      next = nextNode(state.node);
      if (next === undefined) throw new NothingToResumeError(`Thread ${threadId} already answered turn ${state.turn}: ask a new question, or rewind it first`);
    }

    while (next !== undefined) {
      if (options.maxSteps !== undefined && steps.length >= options.maxSteps) break;
      options.signal?.throwIfAborted();
      if (options.stepDelayMs) await sleep(options.stepDelayMs, undefined, { signal: options.signal });
      state = await this.#step(next, state);
      await write(next, state);
      next = nextNode(next);
    }
    return { steps, checkpointIds, state, completed: state.node === 'answer' };
  }

  /** Computes the state a node produces from the state before it. Pure but for retrieval and the model. */
  async #step(node: NodeName, state: AgentState): Promise<AgentState> {
    switch (node) {
      case 'receive':
        return { ...state, node };
      case 'plan': {
        const keywords = keywordsOf(state.question);
        return {
          ...state,
          node,
          keywords,
          plan: [
            `search the documents for: ${keywords.join(', ') || state.question}`,
            'draft an answer from the best passages',
            'check the draft cites what it used',
          ],
        };
      }
      case 'retrieve': {
        const query = state.keywords.length > 0 ? state.keywords.join(' ') : state.question;
        return { ...state, node, sources: await this.#retrieve(query, 3) };
      }
      case 'draft': {
        const history = state.messages.slice(0, -1);
        return { ...state, node, draft: await this.#model.draft({ question: state.question, sources: state.sources, history }) };
      }
      case 'review': {
        const notes: string[] = [];
        if (state.sources.length === 0) notes.push('no passages matched: the answer is not grounded in the documents');
        const cited = state.sources.filter((s) => state.draft.includes(`[${s.title}]`));
        if (state.sources.length > 0 && cited.length === 0) notes.push('the draft cites none of the passages');
        if (state.draft.length > 1200) notes.push('the draft is long; trimmed to 1200 characters');
        return { ...state, node, review: { approved: notes.length === 0, notes } };
      }
      case 'answer': {
        const body = state.draft.length > 1200 ? `${state.draft.slice(0, 1199)}…` : state.draft;
        const answer = state.review.approved ? body : `${body}\n\n(Reviewer: ${state.review.notes.join('; ')}.)`;
        return { ...state, node, answer, messages: [...state.messages, { role: 'assistant', content: answer }] };
      }
    }
  }
}

/** The node after `node`, or undefined after the last one. */
export function nextNode(node: NodeName): NodeName | undefined {
  return NODES[NODES.indexOf(node) + 1];
}

/** Narrows a checkpoint's metadata `node` (written by the workflow) to a NodeName. */
export function nodeOf(checkpoint: Pick<Checkpoint, 'metadata'>): NodeName | undefined {
  const node = checkpoint.metadata['node'];
  return typeof node === 'string' && (NODES as readonly string[]).includes(node) ? (node as NodeName) : undefined;
}
