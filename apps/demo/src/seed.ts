// Sample data for a first look: the documents in sample-docs/, a demo user's session and one
// thread on which the workflow already ran. Idempotent: a marker object records that it ran, so
// restarting the demo (or `pnpm db:seed` twice) adds nothing the second time.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Cairn, Checkpointer } from '@cairn/cairn';
import { DocumentLibrary, titleFromText } from './library.js';
import { TemplateModel } from './model.js';
import { AgentWorkflow, type AgentState } from './workflow.js';

/** The sample documents shipped with the demo. */
export const SAMPLE_DOCS_DIR = fileURLToPath(new URL('../sample-docs/', import.meta.url));

/** The user the web page signs in as. */
export const DEMO_USER = 'demo-user';

const SeedMarker = z.object({ seededAt: z.string(), documents: z.number().int(), threads: z.number().int() });
const SEED_VERSION = 'v1';

/** What seedDemo() did. */
export interface SeedResult {
  /** False when the sample data was already there. */
  created: boolean;
  documents: number;
  threads: number;
}

/** Adds the sample data unless it was added before (to this tenant). */
export async function seedDemo(cairn: Cairn, options: { collection?: string | undefined } = {}): Promise<SeedResult> {
  const markers = cairn.objects.collection('DemoSeed', SeedMarker);
  const existing = await markers.load(SEED_VERSION);
  if (existing) return { created: false, documents: existing.data.documents, threads: existing.data.threads };

  const library = new DocumentLibrary(cairn, { collection: options.collection });
  await library.init();
  const files = (await readdir(SAMPLE_DOCS_DIR)).filter((name) => name.endsWith('.md')).sort();
  for (const file of files) {
    const text = await readFile(path.join(SAMPLE_DOCS_DIR, file), 'utf8');
    await library.ingest({ id: `sample-${path.basename(file, '.md')}`, title: titleFromText(text, file), text, filename: file, tags: ['sample'] });
  }

  // Fixed ids, so a seed interrupted half-way picks up where it stopped instead of duplicating.
  const session = (await cairn.sessions.get('demo-session')) ?? (await cairn.sessions.create({ id: 'demo-session', userId: DEMO_USER, metadata: { seeded: true } }));
  const thread =
    (await cairn.threads.get('welcome')) ??
    (await cairn.threads.create({ id: 'welcome', userId: DEMO_USER, sessionId: session.id, title: 'Welcome: how does time travel work?', metadata: { seeded: true } }));
  const checkpointer = cairn.checkpointer as unknown as Checkpointer<AgentState>;
  if (!(await checkpointer.get(thread.id))) {
    const workflow = new AgentWorkflow(checkpointer, (query, k) => library.retrieve(query, k), new TemplateModel());
    await workflow.run(thread.id, { question: 'How does time travel work with checkpoints?' });
  }

  await markers.save(SEED_VERSION, { seededAt: new Date().toISOString(), documents: files.length, threads: 1 });
  return { created: true, documents: files.length, threads: 1 };
}
