import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ModelError, OpenAiChatModel, TemplateModel } from './model.js';
import { modelFromEnv } from './open-cairn.js';
import { readEnv } from './env.js';

const sources = [{ id: 'a#0', title: 'Checkpoints', score: 0.9, excerpt: 'A rewind writes a new checkpoint. Then more.' }];

describe('TemplateModel', () => {
  it('cites the passages it uses and says when there are none', async () => {
    const model = new TemplateModel();
    await expect(model.draft({ question: 'What is a rewind?', sources, history: [] })).resolves.toBe(
      'Here is what the documents say about “What is a rewind?”:\n- A rewind writes a new checkpoint. [Checkpoints]',
    );
    await expect(model.draft({ question: 'Unknown?', sources: [], history: [] })).resolves.toMatch(/^I found nothing/);
    const heading = [{ ...sources[0]!, excerpt: '# Checkpoints\n\nEvery step is a checkpoint. More.' }];
    await expect(model.draft({ question: 'q', sources: heading, history: [] })).resolves.toContain('- Every step is a checkpoint. [Checkpoints]');
  });
});

// A local stand-in for an OpenAI-compatible endpoint (the real ones are paid or need a model server).
describe('OpenAiChatModel', () => {
  let server: Server;
  let baseUrl: string;
  const requests: { headers: IncomingMessage['headers']; body: unknown }[] = [];
  // The part of a chat completion request the tests read.
  const ChatRequest = z.object({ messages: z.array(z.object({ role: z.string(), content: z.string() })) });
  let reply: { status: number; body: unknown } = { status: 200, body: { choices: [{ message: { content: ' Grounded answer [Checkpoints]. ' } }] } };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (chunk) => (data += chunk));
      req.on('end', () => {
        requests.push({ headers: req.headers, body: JSON.parse(data) as unknown });
        res.writeHead(req.url === '/v1/chat/completions' ? reply.status : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the passages and the history, and returns the answer', async () => {
    const model = new OpenAiChatModel({ baseUrl: `${baseUrl}/`, apiKey: 'sk-test', model: 'small-model' });
    const answer = await model.draft({ question: 'What is a rewind?', sources, history: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
    expect(answer).toBe('Grounded answer [Checkpoints].');
    const request = requests.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer sk-test');
    expect(request.body).toMatchObject({ model: 'small-model', temperature: 0 });
    const { messages } = ChatRequest.parse(request.body);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages.at(-1)?.content).toContain('[Checkpoints] A rewind writes a new checkpoint.');
  });

  it('raises a ModelError on a failed or empty answer', async () => {
    const model = new OpenAiChatModel({ baseUrl, model: 'm' });
    reply = { status: 500, body: { error: 'overloaded' } };
    await expect(model.draft({ question: 'q', sources, history: [] })).rejects.toBeInstanceOf(ModelError);
    reply = { status: 200, body: { choices: [] } };
    await expect(model.draft({ question: 'q', sources, history: [] })).rejects.toThrow(/returned no message/);
  });

  it('is chosen from the environment only when an endpoint or key is configured', () => {
    expect(modelFromEnv(readEnv({})).name).toBe('template');
    expect(modelFromEnv(readEnv({ OPENAI_BASE_URL: baseUrl, OPENAI_MODEL: 'llama3.2' })).name).toBe('llama3.2');
  });
});
