// A LangGraph graph that stops at an interrupt (a human approval), the process exits, and a new
// process resumes it from Cairn. Run it twice:
//
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mydb \
//     npx tsx --conditions=@cairn/source examples/resume-after-restart.ts start --thread demo-1
//   DATABASE_URL=... npx tsx --conditions=@cairn/source examples/resume-after-restart.ts resume --thread demo-1
//
// (`--url` overrides DATABASE_URL; the database must have the Cairn migrations: `npx cairn migrate deploy`, or `migrateDatabase(url)` from @cairn/db.)
// Each run prints one JSON line describing where the graph is.
import { parseArgs } from 'node:util';
import { Annotation, Command, END, START, StateGraph, interrupt } from '@langchain/langgraph';
import { CairnSaver } from '../src/langgraph.js';

const State = Annotation.Root({
  topic: Annotation<string>,
  draft: Annotation<string>,
  approved: Annotation<boolean>,
  // Which process ran each step: shows the work was split across a restart.
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function buildGraph(checkpointer: CairnSaver) {
  return new StateGraph(State)
    .addNode('write', (s) => ({ draft: `A short note about ${s.topic}.`, log: [`write@${process.pid}`] }))
    .addNode('review', (s) => {
      // Pauses the graph here; the value is what a reviewer is shown. On resume it returns the answer.
      const answer = interrupt<{ question: string; draft: string }, { approved: boolean }>({ question: 'Publish this draft?', draft: s.draft });
      return { approved: answer.approved, log: [`review@${process.pid}`] };
    })
    .addNode('publish', (s) => ({ draft: s.approved ? `${s.draft} [published]` : s.draft, log: [`publish@${process.pid}`] }))
    .addEdge(START, 'write')
    .addEdge('write', 'review')
    .addEdge('review', 'publish')
    .addEdge('publish', END)
    .compile({ checkpointer });
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { thread: { type: 'string', default: 'demo-thread' }, url: { type: 'string' }, approve: { type: 'boolean', default: true } },
  });
  const command = positionals[0];
  const url = values.url ?? process.env.DATABASE_URL;
  if ((command !== 'start' && command !== 'resume') || !url) {
    console.error('usage: resume-after-restart.ts start|resume --thread <id> [--url <postgres url>] (or DATABASE_URL)');
    process.exitCode = 2;
    return;
  }
  const saver = await CairnSaver.fromUrl(url);
  try {
    const graph = buildGraph(saver);
    const config = { configurable: { thread_id: values.thread } };
    if (command === 'start') {
      const result = await graph.invoke({ topic: 'durable agents' }, config);
      const pending = (result as { __interrupt__?: { value: unknown }[] }).__interrupt__ ?? [];
      console.log(JSON.stringify({ status: pending.length > 0 ? 'interrupted' : 'done', pid: process.pid, interrupt: pending[0]?.value, log: result.log }));
    } else {
      const before = await graph.getState(config);
      const result = await graph.invoke(new Command({ resume: { approved: values.approve } }), config);
      console.log(JSON.stringify({ status: 'done', pid: process.pid, waitingOn: before.next, draft: result.draft, approved: result.approved, log: result.log }));
    }
  } finally {
    await saver.close();
  }
}

await main();
