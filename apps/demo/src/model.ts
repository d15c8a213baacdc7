// Who writes the workflow's drafts. By default a deterministic template (no network, same output
// for the same input, so tests and the demo behave the same everywhere); with an OpenAI-compatible
// endpoint configured, a real chat model.
/** A passage the retrieve step found. */
export interface Source {
  id: string;
  title: string;
  score: number;
  excerpt: string;
}

/** One message of the conversation. */
export interface Message {
  role: 'user' | 'assistant';
  content: string;
}

/** What the draft step gives the model. */
export interface DraftInput {
  question: string;
  sources: Source[];
  /** Earlier messages of the thread (without the current question). */
  history: Message[];
}

/** Writes a draft answer. Implementations must cite a source they use as `[title]`. */
export interface AnswerModel {
  /** Shown in checkpoint metadata and the UI. */
  readonly name: string;
  draft(input: DraftInput): Promise<string>;
}

/** The first sentence of a passage (or its first 200 characters), Markdown headings left out. */
function firstSentence(text: string): string {
  const clean = text
    .replace(/^#{1,6}\s.*$/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
  const match = /^(.{20,300}?[.!?])(\s|$)/.exec(clean);
  return match?.[1] ?? (clean.length > 200 ? `${clean.slice(0, 199)}…` : clean);
}

/** A deterministic model: stitches the best passages' first sentences into a cited answer. */
export class TemplateModel implements AnswerModel {
  readonly name = 'template';

  async draft({ question, sources, history }: DraftInput): Promise<string> {
    if (sources.length === 0) {
      return `I found nothing in the documents about “${question}”. Ingest a document that covers it and ask again.`;
    }
    const lines = sources.map((s) => `- ${firstSentence(s.excerpt)} [${s.title}]`);
    const earlier = history.filter((m) => m.role === 'user').length;
    const intro = earlier > 0 ? `Following up on ${earlier} earlier question(s), here` : 'Here';
    return `${intro} is what the documents say about “${question}”:\n${lines.join('\n')}`;
  }
}

/** Settings of OpenAiChatModel. */
export interface OpenAiChatModelOptions {
  /** e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama). */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  /** @defaultValue 30000 */
  timeoutMs?: number;
}

/** The model's endpoint failed or answered something unusable. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code = 'MODEL_FAILED';
  /** An upstream dependency failed: Bad Gateway. */
  readonly statusCode = 502;
}

/** A chat model behind an OpenAI-compatible `/chat/completions` endpoint (OpenAI, Ollama, vLLM). */
export class OpenAiChatModel implements AnswerModel {
  readonly name: string;
  readonly #options: OpenAiChatModelOptions;

  constructor(options: OpenAiChatModelOptions) {
    this.#options = options;
    this.name = options.model;
  }

  async draft({ question, sources, history }: DraftInput): Promise<string> {
    const context = sources.map((s) => `[${s.title}] ${s.excerpt}`).join('\n\n');
    const messages = [
      {
        role: 'system',
        content:
          'Answer using only the passages given. Cite each passage you use by its title in square brackets, e.g. [Title]. ' +
          'Say so when the passages do not cover the question. Keep it under 150 words.',
      },
      ...history.map((m) => ({ role: m.role, content: m.content })),
      { role: 'user', content: `Passages:\n${context || '(none)'}\n\nQuestion: ${question}` },
    ];
    const url = `${this.#options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.#options.apiKey ? { authorization: `Bearer ${this.#options.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: this.#options.model, messages, temperature: 0 }),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      throw new ModelError(`The model endpoint ${url} did not answer: ${(cause as Error).message}`, { cause });
    }
    if (!response.ok) throw new ModelError(`The model endpoint ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    const body = (await response.json()) as { choices?: { message?: { content?: unknown } }[] };
    const content = body.choices?.[0]?.message?.content;
    if (typeof content !== 'string' || content.trim() === '') throw new ModelError(`The model endpoint ${url} returned no message`);
    return content.trim();
  }
}
