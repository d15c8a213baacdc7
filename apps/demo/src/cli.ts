// The scripted side of the demo: `ingest` files or folders with a progress bar, and `search` from
// the terminal. Both open Cairn directly; when the embedded database is held by a running demo
// server (PGlite allows one process per data directory), they go through that server's API instead.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Cairn } from '@cairn/cairn';
import type { DemoEnv } from './env.js';
import { DocumentLibrary, SEARCH_MODES, chunkCount, titleFromText, type SearchHit, type SearchMode } from './library.js';
import { openCairn, readServerFile } from './open-cairn.js';
import { ProgressBar, type ProgressStream } from './progress-bar.js';

/** Where the CLI writes: results to `out`, messages to `err`, the bar to `progress`. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  progress: ProgressStream;
}

/** File types the CLI ingests when given a folder (any file named explicitly is read as text). */
const TEXT_EXTENSIONS = new Set(['.md', '.markdown', '.mdx', '.txt', '.text', '.rst', '.adoc', '.html', '.htm', '.csv', '.json', '.yaml', '.yml']);
/** Folders never walked into: dependencies and build output. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'test-results']);
/** Largest file read (bigger ones are skipped with a warning). */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** Text files under the given paths (folders walked recursively; hidden folders, dependencies and build output skipped), sorted. */
export async function collectFiles(paths: readonly string[], baseDir: string): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && TEXT_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) found.add(full);
    }
  };
  for (const given of paths) {
    const full = path.resolve(baseDir, given);
    const info = await stat(full).catch(() => undefined);
    if (!info) throw new Error(`No such file or folder: ${given} (resolved to ${full})`);
    if (info.isDirectory()) await walk(full);
    else found.add(full);
  }
  return [...found].sort();
}

/** Whether `error` (or one of its causes) is the embedded database being held by another process. */
function isDatabaseLocked(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'EMBEDDED_DATABASE_LOCKED') return true;
  }
  return false;
}

/** The running demo server's base URL when it holds the embedded database, else undefined. */
async function runningServer(env: DemoEnv, error: unknown): Promise<string | undefined> {
  if (env.DATABASE_URL !== undefined || !isDatabaseLocked(error)) return undefined;
  const info = await readServerFile(env);
  if (!info) return undefined;
  const health = await fetch(new URL('api/health', info.url)).catch(() => undefined);
  return health?.ok ? info.url : undefined;
}

/** Either a Cairn instance of our own, or the URL of the server that holds the database. */
type Backend = { kind: 'direct'; cairn: Cairn; library: DocumentLibrary } | { kind: 'http'; url: string };

async function openBackend(env: DemoEnv, io: CliIo): Promise<Backend> {
  try {
    const cairn = await openCairn(env);
    const library = new DocumentLibrary(cairn);
    await library.init();
    return { kind: 'direct', cairn, library };
  } catch (error) {
    const url = await runningServer(env, error);
    if (url === undefined) throw error;
    io.err(`The demo server at ${url} holds the embedded database; going through its API.`);
    return { kind: 'http', url };
  }
}

async function closeBackend(backend: Backend): Promise<void> {
  if (backend.kind === 'direct') await backend.cairn.close();
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new Error(data.message ?? `${response.status} ${response.statusText}`);
  return data;
}

/** `ingest <path>...`: chunks, embeds and stores every text file, with a progress bar over chunks. */
export async function runIngest(env: DemoEnv, paths: readonly string[], options: { tags?: string | undefined }, io: CliIo): Promise<number> {
  if (paths.length === 0) {
    io.err('Usage: pnpm demo -- ingest <file|folder>... [--tags a,b]');
    return 2;
  }
  const baseDir = env.INIT_CWD ?? process.cwd();
  const files = await collectFiles(paths, baseDir);
  if (files.length === 0) {
    io.err(`No text files (${[...TEXT_EXTENSIONS].join(' ')}) under ${paths.join(', ')}.`);
    return 1;
  }
  const tags = (options.tags ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  // Read everything first: the bar's total is the number of chunks, known before any is written.
  const documents: { file: string; text: string; chunks: number }[] = [];
  for (const file of files) {
    const info = await stat(file);
    if (info.size > MAX_FILE_BYTES) {
      io.err(`Skipping ${path.relative(baseDir, file)}: larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB.`);
      continue;
    }
    const text = await readFile(file, 'utf8');
    if (text.trim() === '') {
      io.err(`Skipping ${path.relative(baseDir, file)}: empty.`);
      continue;
    }
    documents.push({ file, text, chunks: chunkCount(text) });
  }
  const backend = await openBackend(env, io);
  const bar = new ProgressBar({ total: documents.reduce((sum, d) => sum + d.chunks, 0), unit: 'chunks', stream: io.progress, plain: env.CI !== undefined ? true : undefined });
  let failed = 0;
  try {
    for (const doc of documents) {
      const name = path.relative(baseDir, doc.file) || path.basename(doc.file);
      const input = { title: titleFromText(doc.text, path.basename(doc.file)), text: doc.text, filename: name, tags };
      try {
        if (backend.kind === 'direct') {
          let reported = 0;
          await backend.library.ingest(input, {
            onProgress: (done) => {
              bar.tick(done - reported, name);
              reported = done;
            },
          });
          bar.tick(doc.chunks - reported, name);
        } else {
          await postJson(new URL('api/documents', backend.url).href, input);
          bar.tick(doc.chunks, name);
        }
      } catch (error) {
        // One bad file must not hide the others; it is reported and counted, not swallowed.
        failed += 1;
        bar.tick(doc.chunks, name);
        io.err(`\nFailed to ingest ${name}: ${(error as Error).message}`);
      }
    }
    bar.done(`${documents.length - failed} file(s)`);
  } finally {
    await closeBackend(backend);
  }
  io.out(`Ingested ${documents.length - failed} of ${documents.length} file(s), ${bar.current} chunk(s).`);
  return failed > 0 ? 1 : 0;
}

/** `search "<query>"`: prints the best chunks with their scores. */
export async function runSearch(
  env: DemoEnv,
  query: string,
  options: { mode?: string | undefined; k?: string | undefined; source?: string | undefined },
  io: CliIo,
): Promise<number> {
  if (query.trim() === '') {
    io.err('Usage: pnpm demo -- search "<query>" [--mode hybrid|vector|text] [--k 5] [--source <id>]');
    return 2;
  }
  const mode = (options.mode ?? 'hybrid') as SearchMode;
  if (!SEARCH_MODES.includes(mode)) {
    io.err(`--mode must be one of ${SEARCH_MODES.join(', ')}`);
    return 2;
  }
  const k = Number(options.k ?? 5);
  if (!Number.isInteger(k) || k < 1 || k > 50) {
    io.err('--k must be a whole number from 1 to 50');
    return 2;
  }
  const input = { query, mode, k, ...(options.source ? { where: { sourceId: options.source } } : {}) };
  const backend = await openBackend(env, io);
  let results: SearchHit[];
  let tookMs: number;
  try {
    ({ results, tookMs } =
      backend.kind === 'direct' ? await backend.library.search(input) : await postJson<{ results: SearchHit[]; tookMs: number }>(new URL('api/search', backend.url).href, input));
  } finally {
    await closeBackend(backend);
  }
  io.out(`${results.length} result(s) for ${JSON.stringify(query)} (${mode}, ${tookMs.toFixed(1)} ms)\n`);
  results.forEach((hit, i) => {
    const excerpt = hit.content.replace(/\s+/g, ' ').trim();
    io.out(`${String(i + 1).padStart(2)}. ${hit.score.toFixed(4)}  ${hit.title}  [${hit.id}]`);
    io.out(`    ${excerpt.length > 160 ? `${excerpt.slice(0, 159)}…` : excerpt}`);
  });
  return 0;
}
