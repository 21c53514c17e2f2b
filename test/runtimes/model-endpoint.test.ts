/**
 * The test bed's model endpoint on its own (no runtime): each API shape streams the events the
 * real APIs send, errors are real HTTP statuses, side requests do not consume the queue, holds
 * wait for release(), the HTTP control route queues, lastUserText reads each shape.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastUserText, SIDE_REPLY_TEXT, startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { must } from '../helpers/must.js';

let endpoint: ModelEndpoint;
beforeEach(async () => {
  endpoint = await startModelEndpoint();
});
afterEach(async () => {
  await endpoint.close();
});

const TOOLS = {
  anthropic: [{ name: 'Bash', input_schema: { type: 'object' } }],
  responses: [{ type: 'function', name: 'exec_command', parameters: { type: 'object' } }],
  chat: [{ type: 'function', function: { name: 'bash', parameters: { type: 'object' } } }],
};

async function post(path: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(endpoint.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** `data:` payloads of an SSE body, parsed where JSON. */
function events(sse: string): any[] {
  return sse
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .find((l) => l.startsWith('data: '))
        ?.slice(6),
    )
    .filter((d): d is string => d !== undefined)
    .map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

describe('model endpoint', () => {
  it('streams an Anthropic Messages text reply and records the user text', async () => {
    endpoint.queue({ kind: 'text', text: 'hello from the model' });
    const r = await post('/v1/messages?beta=true', {
      model: 'm',
      stream: true,
      tools: TOOLS.anthropic,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<system-reminder>x</system-reminder>' },
            { type: 'text', text: 'hi there' },
          ],
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const ev = events(r.text);
    expect(ev.map((e) => e.type)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(
      ev
        .filter((e) => e.type === 'content_block_delta')
        .map((e) => e.delta.text)
        .join(''),
    ).toBe('hello from the model');
    const req = must(endpoint.mainRequests()[0], 'main request');
    expect(req.query).toBe('beta=true');
    expect(lastUserText(req)).toBe('hi there');
  });

  it('streams a tool call in each API shape, naming the runtime shell tool', async () => {
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    const a = events((await post('/v1/messages', { stream: true, tools: TOOLS.anthropic, messages: [{ role: 'user', content: 'go' }] })).text);
    expect(a.find((e) => e.type === 'content_block_start').content_block).toMatchObject({ type: 'tool_use', name: 'Bash' });
    expect(JSON.parse(a.find((e) => e.type === 'content_block_delta').delta.partial_json)).toEqual({
      command: 'echo hi > proto.txt',
      description: 'Run the command',
    });
    expect(a.find((e) => e.type === 'message_delta').delta.stop_reason).toBe('tool_use');

    const o = events(
      (
        await post('/v1/responses', {
          stream: true,
          tools: TOOLS.responses,
          input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] }],
        })
      ).text,
    );
    const done = o.find((e) => e.type === 'response.output_item.done').item;
    expect(done).toMatchObject({ type: 'function_call', name: 'exec_command' });
    expect(JSON.parse(done.arguments)).toMatchObject({ cmd: 'echo hi > proto.txt', sandbox_permissions: 'require_escalated' });
    expect(o.at(-1).type).toBe('response.completed');
    expect(o.at(-1).response.output).toHaveLength(1);

    const c = events((await post('/v1/chat/completions', { stream: true, tools: TOOLS.chat, messages: [{ role: 'user', content: 'go' }] })).text);
    expect(c.at(-1)).toBe('[DONE]');
    expect(c[1].choices[0].delta.tool_calls[0].function.name).toBe('bash');
    expect(c.find((e) => e !== '[DONE]' && e.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
    expect(c.at(-2).usage.total_tokens).toBeGreaterThan(0);
    expect(endpoint.mainRequests().map((r) => r.served)).toEqual(['tool Bash', 'tool exec_command', 'tool bash']);
  });

  it('answers side requests (no tools) at once without consuming the queue', async () => {
    endpoint.queue({ kind: 'text', text: 'the main reply' });
    const side = events((await post('/v1/chat/completions', { stream: true, messages: [{ role: 'user', content: 'title?' }] })).text);
    expect(
      side
        .filter((e) => e !== '[DONE]')
        .map((e) => e.choices[0]?.delta?.content ?? '')
        .join(''),
    ).toBe(SIDE_REPLY_TEXT);
    expect(endpoint.pending()).toBe(1);
    const plain = JSON.parse((await post('/v1/messages', { messages: [{ role: 'user', content: 'quota' }] })).text);
    expect(plain.content[0].text).toBe(SIDE_REPLY_TEXT);
    expect(endpoint.pending()).toBe(1);
    expect(endpoint.requests().map((r) => r.side)).toEqual([true, true]);
  });

  it('errors are real HTTP statuses in each API body, for `times` requests', async () => {
    endpoint.queue({ kind: 'error', status: 429, times: 2 });
    endpoint.queue({ kind: 'error', status: 401 });
    endpoint.queue({ kind: 'error', status: 529 });
    const first = await post('/v1/messages', { stream: true, tools: TOOLS.anthropic, messages: [] });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(first.text).error.type).toBe('rate_limit_error');
    const second = await post('/v1/responses', { stream: true, tools: TOOLS.responses, input: [] });
    expect(second.status).toBe(429);
    expect(JSON.parse(second.text).error.code).toBe('rate_limit_exceeded');
    const third = await post('/v1/chat/completions', { stream: true, tools: TOOLS.chat, messages: [] });
    expect(third.status).toBe(401);
    const fourth = await post('/v1/messages', { stream: true, tools: TOOLS.anthropic, messages: [] });
    expect(fourth.status).toBe(529);
    expect(JSON.parse(fourth.text).error.type).toBe('overloaded_error');
    expect(endpoint.pending()).toBe(0);
    // Queue empty: the default reply.
    expect((await post('/v1/messages', { stream: true, tools: TOOLS.anthropic, messages: [] })).status).toBe(200);
  });

  it('a held reply waits for release(); started resolves with the request', async () => {
    const turn = endpoint.queue({ kind: 'text', text: 'held text', hold: 'before-end' });
    const pending = post('/v1/messages', { stream: true, tools: TOOLS.anthropic, messages: [{ role: 'user', content: 'wait' }] });
    const req = await turn.started;
    expect(lastUserText(req)).toBe('wait');
    let finished = false;
    void turn.finished.then(() => (finished = true));
    // Still held after the request is in: the stream has not ended.
    await endpoint.waitForRequest();
    expect(finished).toBe(false);
    turn.release();
    const ev = events((await pending).text);
    expect(ev.at(-1).type).toBe('message_stop');
    await turn.finished;
  });

  it('the HTTP control route queues replies and lists requests; HEAD /, count_tokens and /v1/models answer', async () => {
    expect((await post('/_control/queue', [{ kind: 'text', text: 'via control' }])).status).toBe(200);
    expect((await post('/_control/queue', { kind: 'bogus' })).status).toBe(400);
    const ev = events(
      (await post('/v1/responses', { stream: true, tools: TOOLS.responses, input: [{ role: 'user', content: [{ type: 'input_text', text: 'q' }] }] })).text,
    );
    expect(ev.find((e) => e.type === 'response.output_item.done').item.content[0].text).toBe('via control');
    expect((await fetch(endpoint.url + '/', { method: 'HEAD' })).status).toBe(200);
    expect(JSON.parse((await post('/v1/messages/count_tokens', { messages: [] })).text).input_tokens).toBeGreaterThan(0);
    expect(((await (await fetch(endpoint.openaiBaseUrl + '/models')).json()) as any).data[0].id).toBe('test-model');
    const listed = (await (await fetch(endpoint.url + '/_control/requests')).json()) as any[];
    expect(listed.map((r) => r.api)).toEqual(['responses', 'other', 'count_tokens', 'models']);
  });

  it('lastUserText skips Codex context items and reads chat content parts', () => {
    expect(
      lastUserText({
        api: 'responses',
        body: {
          input: [
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'real prompt' }] },
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>cwd</environment_context>' }] },
          ],
        },
      }),
    ).toBe('real prompt');
    expect(
      lastUserText({
        api: 'chat',
        body: {
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'a' },
                { type: 'text', text: 'b' },
              ],
            },
            { role: 'assistant', content: 'x' },
          ],
        },
      }),
    ).toBe('a\nb');
    expect(lastUserText({ api: 'chat', body: {} })).toBe('');
  });
});
