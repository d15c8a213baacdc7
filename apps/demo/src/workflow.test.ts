import { afterEach, describe, expect, it } from '@jest/globals';
import { ConflictError, MemoryCheckpointer } from '@cairn/cairn';
import { TemplateModel } from './model.js';
import type { Source } from './model.js';
import { AgentWorkflow, NothingToResumeError, keywordsOf, type AgentState, type Retriever } from './workflow.js';

const passages: Source[] = [
  { id: 'a#0', title: 'Checkpoints', score: 0.8, excerpt: 'A rewind writes a new checkpoint that holds the old state. More text follows.' },
  { id: 'b#0', title: 'Forks', score: 0.6, excerpt: 'A fork starts a new thread from any checkpoint.' },
];
const retrieve: Retriever = async () => passages;

describe('AgentWorkflow', () => {
  let checkpointer: MemoryCheckpointer<AgentState>;
  afterEach(async () => {
    await checkpointer.close();
  });

  it('writes one checkpoint per step and answers with cited passages', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const workflow = new AgentWorkflow(checkpointer, retrieve, new TemplateModel());
    const result = await workflow.run('t1', { question: 'How does a rewind work?' });

    expect(result.steps).toEqual(['receive', 'plan', 'retrieve', 'draft', 'review', 'answer']);
    expect(result.completed).toBe(true);
    expect(result.state.keywords).toEqual(['rewind', 'work']);
    expect(result.state.answer).toContain('[Checkpoints]');
    expect(result.state.review.approved).toBe(true);
    expect(result.state.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const stored = await checkpointer.list('t1');
    expect(stored.map((c) => c.checkpointId)).toEqual([...result.checkpointIds].reverse());
    expect(stored.map((c) => c.metadata['node'])).toEqual(['answer', 'review', 'draft', 'retrieve', 'plan', 'receive']);
  });

  it('gives the same answer for the same question (deterministic)', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const workflow = new AgentWorkflow(checkpointer, retrieve, new TemplateModel());
    const first = await workflow.run('t1', { question: 'What is a fork?' });
    const second = await workflow.run('t2', { question: 'What is a fork?' });
    expect(second.state).toEqual(first.state);
  });

  it('resumes an interrupted run from its latest checkpoint', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const workflow = new AgentWorkflow(checkpointer, retrieve, new TemplateModel());
    const partial = await workflow.run('t1', { question: 'What is a fork?', maxSteps: 2 });
    expect(partial.steps).toEqual(['receive', 'plan']);
    expect(partial.completed).toBe(false);
    const rest = await workflow.run('t1');
    expect(rest.steps).toEqual(['retrieve', 'draft', 'review', 'answer']);
    expect(rest.completed).toBe(true);
    await expect(workflow.run('t1')).rejects.toBeInstanceOf(NothingToResumeError);
  });

  it('starts a new turn on a finished thread, keeping the conversation', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const workflow = new AgentWorkflow(checkpointer, retrieve, new TemplateModel());
    await workflow.run('t1', { question: 'What is a fork?' });
    const second = await workflow.run('t1', { question: 'And a rewind?' });
    expect(second.state.turn).toBe(2);
    expect(second.state.messages).toHaveLength(4);
    expect(second.state.answer).toMatch(/^Following up on 1 earlier question/);
  });

  it('stops with a ConflictError when another writer moves the thread mid-run', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const intruding: Retriever = async () => {
      const latest = await checkpointer.get('t1');
      await checkpointer.put('t1', { ...latest!.state, question: 'someone else' });
      return passages;
    };
    const workflow = new AgentWorkflow(checkpointer, intruding, new TemplateModel());
    await expect(workflow.run('t1', { question: 'What is a fork?' })).rejects.toBeInstanceOf(ConflictError);
    // Nothing after the intruder's checkpoint was written by the run.
    const latest = await checkpointer.get('t1');
    expect(latest?.state.question).toBe('someone else');
  });

  it('flags an answer that no passage supports', async () => {
    checkpointer = new MemoryCheckpointer<AgentState>();
    const workflow = new AgentWorkflow(checkpointer, async () => [], new TemplateModel());
    const result = await workflow.run('t1', { question: 'Unknown topic?' });
    expect(result.state.review.approved).toBe(false);
    expect(result.state.answer).toContain('not grounded');
  });
});

describe('keywordsOf', () => {
  it('keeps the first five telling words, without stop words or repeats', () => {
    expect(keywordsOf('How does the time travel of the checkpoints work, and how does time travel end?')).toEqual([
      'time',
      'travel',
      'checkpoints',
      'work',
      'end',
    ]);
  });
});
