// The demo's web page: plain DOM code over the HTTP API (see /openapi.json). One thread is open at a
// time; its checkpoints arrive live over server-sent events fed by Cairn's change notifications.

const $ = (selector) => document.querySelector(selector);

const ui = {
  health: $('#health'),
  userId: $('#user-id'),
  threadList: $('#thread-list'),
  newThread: $('#new-thread'),
  newThreadTitle: $('#new-thread-title'),
  threadTitle: $('#thread-title'),
  live: $('#live'),
  runForm: $('#run-form'),
  question: $('#question'),
  run: $('#run'),
  resume: $('#resume'),
  runStatus: $('#run-status'),
  timeline: $('#timeline'),
  stateTitle: $('#state-title'),
  state: $('#state'),
  diff: $('#diff'),
  diffTitle: $('#diff-title'),
  diffOutput: $('#diff-output'),
  events: $('#events'),
  ingestForm: $('#ingest-form'),
  docTitle: $('#doc-title'),
  docText: $('#doc-text'),
  docTags: $('#doc-tags'),
  uploadForm: $('#upload-form'),
  docFile: $('#doc-file'),
  ingestStatus: $('#ingest-status'),
  sources: $('#sources'),
  searchForm: $('#search-form'),
  query: $('#query'),
  mode: $('#mode'),
  filterSource: $('#filter-source'),
  k: $('#k'),
  searchStatus: $('#search-status'),
  results: $('#results'),
};

const page = {
  userId: 'demo-user',
  sessionId: undefined,
  threadId: undefined,
  checkpoints: [],
  viewing: undefined,
  ticked: [],
  events: undefined,
  refreshTimer: undefined,
  sourcesTimer: undefined,
};

/** Calls the API; throws an Error carrying the server's message on a non-2xx answer. */
async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = new Error(data?.message ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle('error', isError);
}

const shortId = (id) => (id ? `${id.slice(0, 8)}…${id.slice(-4)}` : '');
const time = (iso) => new Date(iso).toLocaleTimeString();

// ---------------------------------------------------------------------------------------------
// Health

async function loadHealth() {
  try {
    const health = await api('GET', '/api/health');
    const items = [
      ['PostgreSQL', health.postgres.ok ? 'ok' : 'down', health.postgres.ok ? `${health.postgres.version ?? ''}${health.postgres.embedded ? ' (embedded)' : ''}` : health.postgres.error],
      ['pgvector', health.pgvector.ok ? 'ok' : 'down', health.pgvector.version ?? health.pgvector.error],
      ['Redis', !health.redis.configured ? 'off' : health.redis.ok ? 'ok' : 'down', health.redis.configured ? (health.redis.error ?? health.redis.state ?? '') : 'not configured'],
    ];
    ui.health.replaceChildren(
      ...items.map(([name, state, detail]) => el('li', { class: state, title: detail ?? '', dataset: { service: name.toLowerCase(), state } }, `${name}: ${state}`)),
    );
  } catch (error) {
    ui.health.replaceChildren(el('li', { class: 'down' }, `health: ${error.message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions and threads

async function ensureSession() {
  const stored = localStorage.getItem('cairn-demo-session');
  if (stored) {
    try {
      const session = await api('GET', `/api/sessions/${encodeURIComponent(stored)}`);
      page.sessionId = session.id;
      page.userId = session.userId;
      return;
    } catch {
      localStorage.removeItem('cairn-demo-session');
    }
  }
  const existing = await api('GET', `/api/sessions?userId=${encodeURIComponent(page.userId)}&limit=1`);
  const session = existing.sessions[0] ?? (await api('POST', '/api/sessions', { userId: page.userId, metadata: { via: 'web' } }));
  page.sessionId = session.id;
  localStorage.setItem('cairn-demo-session', session.id);
}

async function loadThreads() {
  const { threads } = await api('GET', `/api/threads?userId=${encodeURIComponent(page.userId)}&limit=50`);
  ui.threadList.replaceChildren(
    ...threads.map((thread) =>
      el(
        'li',
        {
          class: thread.id === page.threadId ? 'selected' : '',
          dataset: { threadId: thread.id, testid: 'thread-item' },
          onclick: () => openThread(thread.id),
        },
        el('span', {}, thread.title ?? shortId(thread.id)),
        el('span', { class: 'meta' }, thread.metadata?.forkedFrom ? 'fork' : time(thread.createdAt)),
      ),
    ),
  );
  return threads;
}

async function createThread(title) {
  const thread = await api('POST', '/api/threads', { userId: page.userId, sessionId: page.sessionId, title });
  await loadThreads();
  await openThread(thread.id);
  return thread;
}

async function openThread(threadId) {
  page.threadId = threadId;
  page.viewing = undefined;
  page.ticked = [];
  ui.diffOutput.replaceChildren();
  ui.diffTitle.textContent = '';
  ui.events.replaceChildren();
  const thread = await api('GET', `/api/threads/${encodeURIComponent(threadId)}`);
  ui.threadTitle.textContent = thread.title ?? threadId;
  ui.threadTitle.dataset.threadId = threadId;
  for (const item of ui.threadList.children) item.classList.toggle('selected', item.dataset.threadId === threadId);
  listen(threadId);
  await loadCheckpoints();
  const latest = page.checkpoints[0];
  if (latest) await viewCheckpoint(latest.checkpointId);
  else {
    ui.state.textContent = '(no checkpoints yet: run the workflow)';
    ui.stateTitle.textContent = 'State';
  }
}

// ---------------------------------------------------------------------------------------------
// Live events (server-sent events)

function listen(threadId) {
  page.events?.close();
  const source = new EventSource(`/api/threads/${encodeURIComponent(threadId)}/events`);
  page.events = source;
  // `ready` comes once the server's subscription is in place (the connection opens before that).
  source.addEventListener('ready', () => {
    ui.live.textContent = 'live';
    ui.live.classList.add('on');
  });
  source.addEventListener('error', () => {
    ui.live.textContent = 'reconnecting…';
    ui.live.classList.remove('on');
  });
  source.addEventListener('checkpoint', (message) => {
    const event = JSON.parse(message.data);
    ui.events.prepend(el('li', { dataset: { type: event.type } }, `${time(new Date().toISOString())} ${event.type} ${shortId(event.checkpointId ?? '')}`));
    // Several checkpoints can land in quick succession; redraw once.
    clearTimeout(page.refreshTimer);
    page.refreshTimer = setTimeout(() => {
      if (page.threadId === threadId) loadCheckpoints().catch(() => undefined);
    }, 60);
  });
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: timeline, state, rewind, fork, diff

async function loadCheckpoints() {
  const threadId = page.threadId;
  if (!threadId) return;
  const { checkpoints } = await api('GET', `/api/threads/${encodeURIComponent(threadId)}/checkpoints?limit=100`);
  if (threadId !== page.threadId) return;
  page.checkpoints = checkpoints;
  page.ticked = page.ticked.filter((id) => checkpoints.some((c) => c.checkpointId === id));
  renderTimeline();
}

function renderTimeline() {
  ui.timeline.replaceChildren(
    ...page.checkpoints.map((checkpoint, index) => {
      const id = checkpoint.checkpointId;
      const badges = [];
      if (index === 0) badges.push(el('span', { class: 'badge' }, 'latest'));
      if (checkpoint.metadata?.source === 'rewind') badges.push(el('span', { class: 'badge' }, `rewound to ${shortId(checkpoint.metadata.rewoundTo)}`));
      if (checkpoint.metadata?.forkedFrom) badges.push(el('span', { class: 'badge' }, 'fork'));
      const tick = el('input', {
        type: 'checkbox',
        title: 'tick two to diff',
        'aria-label': 'select for diff',
        checked: page.ticked.includes(id),
        dataset: { testid: 'tick' },
        onchange: (event) => {
          page.ticked = event.target.checked ? [...page.ticked.filter((t) => t !== id), id].slice(-2) : page.ticked.filter((t) => t !== id);
          renderTimeline();
        },
      });
      return el(
        'li',
        {
          class: [index === 0 ? 'latest' : '', page.viewing === id ? 'viewing' : ''].join(' ').trim(),
          dataset: { checkpointId: id, node: checkpoint.node ?? '', testid: 'checkpoint' },
        },
        el('div', {}, el('span', { class: 'node' }, `${checkpoint.step}. ${checkpoint.node ?? 'checkpoint'}`), ...badges),
        el('div', { class: 'id' }, `${shortId(id)} · ${time(checkpoint.createdAt)}${checkpoint.metadata?.turn ? ` · turn ${checkpoint.metadata.turn}` : ''}`),
        el(
          'div',
          { class: 'actions' },
          tick,
          el('button', { type: 'button', class: 'secondary', dataset: { testid: 'view' }, onclick: () => viewCheckpoint(id) }, 'View'),
          el('button', { type: 'button', class: 'secondary', dataset: { testid: 'rewind' }, disabled: index === 0, onclick: () => rewind(id) }, 'Rewind'),
          el('button', { type: 'button', class: 'secondary', dataset: { testid: 'fork' }, onclick: () => fork(id) }, 'Fork'),
        ),
      );
    }),
  );
  ui.diff.disabled = page.ticked.length !== 2;
}

async function viewCheckpoint(checkpointId) {
  const checkpoint = await api('GET', `/api/threads/${encodeURIComponent(page.threadId)}/checkpoints/${encodeURIComponent(checkpointId)}`);
  page.viewing = checkpointId;
  ui.stateTitle.textContent = `State at ${checkpoint.step}. ${checkpoint.metadata?.node ?? ''} (${shortId(checkpointId)})`;
  ui.state.textContent = JSON.stringify(checkpoint.state, null, 2);
  renderTimeline();
}

async function rewind(checkpointId) {
  try {
    const result = await api('POST', `/api/threads/${encodeURIComponent(page.threadId)}/rewind`, { checkpointId });
    setStatus(ui.runStatus, `Rewound to ${shortId(checkpointId)}: the thread continues from there (press Resume or ask again).`);
    await loadCheckpoints();
    await viewCheckpoint(result.checkpointId);
  } catch (error) {
    setStatus(ui.runStatus, `Rewind failed: ${error.message}`, true);
  }
}

async function fork(checkpointId) {
  try {
    const source = page.checkpoints.find((c) => c.checkpointId === checkpointId);
    const result = await api('POST', `/api/threads/${encodeURIComponent(page.threadId)}/fork`, {
      checkpointId,
      title: `${ui.threadTitle.textContent} (fork at ${source?.node ?? shortId(checkpointId)})`,
    });
    await loadThreads();
    await openThread(result.thread.id);
    setStatus(ui.runStatus, `Forked into a new thread from ${shortId(checkpointId)}.`);
  } catch (error) {
    setStatus(ui.runStatus, `Fork failed: ${error.message}`, true);
  }
}

async function showDiff() {
  if (page.ticked.length !== 2) return;
  // Older first, so the operations read as "what happened between them".
  const [from, to] = [...page.ticked].sort();
  const diff = await api('GET', `/api/threads/${encodeURIComponent(page.threadId)}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  ui.diffTitle.textContent = `${shortId(from)} → ${shortId(to)}: ${diff.operations.length} change(s)`;
  ui.diffOutput.replaceChildren(
    ...(diff.operations.length === 0
      ? [el('li', {}, 'identical states')]
      : diff.operations.map((op) =>
          el(
            'li',
            { class: op.op, dataset: { testid: 'diff-op' } },
            `${op.op} ${op.path}${'value' in op ? ` = ${truncate(JSON.stringify(op.value), 160)}` : ''}`,
          ),
        )),
  );
}

const truncate = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

// ---------------------------------------------------------------------------------------------
// Running the workflow

async function runWorkflow(question) {
  if (!page.threadId) {
    await createThread(question ? truncate(question, 60) : 'Untitled');
  }
  ui.run.disabled = true;
  ui.resume.disabled = true;
  setStatus(ui.runStatus, question ? 'Running…' : 'Resuming…');
  try {
    // A small delay between steps so the checkpoints can be watched arriving over SSE.
    const result = await api('POST', `/api/threads/${encodeURIComponent(page.threadId)}/runs`, {
      ...(question ? { question } : {}),
      stepDelayMs: 150,
    });
    setStatus(ui.runStatus, `Done: ${result.steps.length} step(s) (${result.steps.join(' → ')}). Answer: ${truncate(result.state.answer ?? '', 300)}`);
    await loadCheckpoints();
    if (page.checkpoints[0]) await viewCheckpoint(page.checkpoints[0].checkpointId);
  } catch (error) {
    setStatus(ui.runStatus, `Run failed: ${error.message}`, true);
  } finally {
    ui.run.disabled = false;
    ui.resume.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Documents and search

async function loadSources() {
  const { sources } = await api('GET', '/api/documents');
  ui.sources.replaceChildren(
    ...sources.map((source) =>
      el('li', { dataset: { testid: 'source', sourceId: source.id } }, el('span', {}, source.title), el('span', { class: 'meta' }, `${source.chunks} chunk(s)`)),
    ),
  );
  const selected = ui.filterSource.value;
  ui.filterSource.replaceChildren(el('option', { value: '' }, 'any'), ...sources.map((source) => el('option', { value: source.id }, source.title)));
  ui.filterSource.value = sources.some((s) => s.id === selected) ? selected : '';
}

async function ingestText(title, text, tags) {
  setStatus(ui.ingestStatus, 'Ingesting…');
  try {
    const result = await api('POST', '/api/documents', { title, text, tags });
    await loadSources();
    setStatus(ui.ingestStatus, `Ingested “${result.title}”: ${result.chunks} chunk(s).`);
  } catch (error) {
    setStatus(ui.ingestStatus, `Ingest failed: ${error.message}`, true);
  }
}

async function uploadFile(file) {
  setStatus(ui.ingestStatus, `Uploading ${file.name}…`);
  try {
    const result = await api('POST', `/api/documents/upload?filename=${encodeURIComponent(file.name)}`, file, {
      'content-type': 'application/octet-stream',
    });
    await loadSources();
    setStatus(ui.ingestStatus, `Ingested “${result.title}”: ${result.chunks} chunk(s).`);
  } catch (error) {
    setStatus(ui.ingestStatus, `Upload failed: ${error.message}`, true);
  }
}

async function search() {
  const body = { query: ui.query.value, mode: ui.mode.value, k: Number(ui.k.value) || 5 };
  if (ui.filterSource.value) body.where = { sourceId: ui.filterSource.value };
  setStatus(ui.searchStatus, 'Searching…');
  try {
    const { results, tookMs } = await api('POST', '/api/search', body);
    setStatus(ui.searchStatus, `${results.length} result(s) in ${tookMs.toFixed(1)} ms (${body.mode}${body.where ? ', filtered' : ''})`);
    ui.results.replaceChildren(
      ...results.map((result) =>
        el(
          'li',
          { dataset: { testid: 'result', id: result.id } },
          el('span', { class: 'score', title: result.scoreKind }, result.score.toFixed(4)),
          ' ',
          el('span', { class: 'source' }, result.title),
          el('p', { class: 'content' }, truncate(result.content, 280)),
        ),
      ),
    );
  } catch (error) {
    setStatus(ui.searchStatus, `Search failed: ${error.message}`, true);
  }
}

// ---------------------------------------------------------------------------------------------

function wire() {
  ui.newThread.addEventListener('submit', async (event) => {
    event.preventDefault();
    const title = ui.newThreadTitle.value.trim();
    if (!title) return;
    ui.newThreadTitle.value = '';
    await createThread(title);
  });
  ui.runForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const question = ui.question.value.trim();
    if (!question) {
      setStatus(ui.runStatus, 'Type a question first (or press Resume).', true);
      return;
    }
    await runWorkflow(question);
  });
  ui.resume.addEventListener('click', () => runWorkflow(undefined));
  ui.diff.addEventListener('click', () => showDiff());
  ui.ingestForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const tags = ui.docTags.value.split(',').map((t) => t.trim()).filter(Boolean);
    await ingestText(ui.docTitle.value.trim(), ui.docText.value, tags);
  });
  ui.uploadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = ui.docFile.files?.[0];
    if (!file) {
      setStatus(ui.ingestStatus, 'Choose a file first.', true);
      return;
    }
    await uploadFile(file);
  });
  ui.searchForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    await search();
  });
}

/** Changes from any instance (and the CLI): refresh the document list when a source changes. */
function listenForChanges() {
  const source = new EventSource('/api/events');
  source.addEventListener('change', (message) => {
    const change = JSON.parse(message.data);
    if (change.objectType === 'DemoSource') {
      clearTimeout(page.sourcesTimer);
      page.sourcesTimer = setTimeout(() => loadSources().catch(() => undefined), 100);
    }
  });
}

async function start() {
  wire();
  listenForChanges();
  await loadHealth();
  setInterval(loadHealth, 15_000);
  await ensureSession();
  ui.userId.textContent = page.userId;
  const threads = await loadThreads();
  await loadSources();
  if (threads[0]) await openThread(threads[0].id);
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  setStatus(ui.runStatus, `Could not start: ${error.message}`, true);
  document.body.dataset.ready = 'error';
});
