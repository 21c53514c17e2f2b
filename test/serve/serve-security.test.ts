/**
 * `mosaic-top serve` (src/serve/) over a real tmux fleet on an isolated socket, the real program
 * on an ephemeral 127.0.0.1 port: `/api/snapshot` is the `--once --json` document; the token
 * (Bearer, or the HttpOnly SameSite=Strict cookie set by `/?token=`) guards every route;
 * mutations need JSON from the same origin, are refused read-only and bounded; the start refuses
 * an unsafe token file or listen address; 40 event streams get 32 served; SIGTERM ends it cleanly.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import { serveEnv, startServe, type ServeProcess } from '../helpers/serve.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { must } from '../helpers/must.js';

/**
 * Evidence with its ages and times blanked: two readings a second apart say the same (the
 * server's poller also says how old a screen it did not need to capture again is).
 */
const sameEvidence = (lines: string[]) => lines.map((l) => l.replace(/ \(read \d+s ago\)/, '').replace(/\d+(\.\d+)?/g, 'N'));
/** GET with a Host header of our choosing (fetch does not let one set it). */
const getWithHost = (url: string, host: string, token: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.get(url, { headers: { Host: host, Authorization: `Bearer ${token}` }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('mosaic-top serve: API and access', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    tmux = await startIsolatedTmux('serve-sec');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-sec-'));
    writeHomeRoster(home, tmux.socket, [
      { name: 's1', runtime: 'pi', class: 'coder' },
      { name: 's2', runtime: 'pi', class: 'orchestrator' },
    ]);
    await tmux.newSession('s1', ['sleep', '3600']);
    await tmux.newSession('s2', ['sleep', '3600']);
    serve = await startServe(home);
    await waitFor(async () => (await serve.request('/api/snapshot')).status === 200, 'first snapshot', { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await serve?.stop();
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('the token file: created 0600 with at least 128 bits', () => {
    const st = fs.statSync(path.join(home, 'fleet', 'serve-token'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(serve.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('/api/snapshot is the --once --json document: same agents, readiness and evidence; valid against the schema', async () => {
    // The --once document made in this process (test/helpers/cli.ts): its content is compared, not its process.
    const once = await runCliInProcess(['--mosaic-home', home, '--once', '--json'], serveEnv());
    expect(once.code, once.stderr).toBe(0);
    const fromOnce = JSON.parse(once.stdout) as Snapshot;
    const fromServe = (await (await serve.request('/api/snapshot')).json()) as Snapshot;
    const validate = snapshotValidator();
    expect(validate(fromServe), JSON.stringify(validate.errors)).toBe(true);
    expect(fromServe.schema).toBe('mosaic-top/snapshot@1');
    const view = (s: Snapshot) => s.agents.map((a) => ({ name: a.name, readiness: a.readiness, flags: a.flags, evidence: sameEvidence(a.evidence) }));
    expect(view(fromServe)).toEqual(view(fromOnce));
    expect(fromServe.agents.map((a) => a.name)).toEqual(['s1', 's2']);
  });

  it('no token, a wrong token: 401 on every route, and nothing done', async () => {
    for (const p of ['/', '/api/snapshot', '/api/events', '/metrics']) {
      expect((await serve.request(p, { auth: false })).status, p).toBe(401);
    }
    const r = await serve.request('/api/pause', { auth: false, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"reason":"x"}' });
    expect(r.status).toBe(401);
    const wrong = await serve.request('/api/snapshot', { auth: false, headers: { Authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);
    expect(fs.existsSync(path.join(home, 'fleet', 'run', 'PAUSED'))).toBe(false);
  });

  it('/?token= sets an HttpOnly SameSite=Strict cookie and redirects to / without the token; the cookie then admits', async () => {
    const r = await serve.request(`/?token=${serve.token}`, { auth: false, redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/');
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^mosaic_top_token=[0-9a-f]{64};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await serve.request('/', { auth: false, headers: { Cookie: must(cookie.split(';')[0], 'the cookie') } });
    expect(page.status).toBe(200);
    const html = await page.text();
    // Server-rendered: names and readiness without JavaScript.
    expect(html).toMatch(/<tr id="agent-s1" data-agent="s1" data-readiness="(\w+)">/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
  });

  it('mutations: another Origin or Sec-Fetch-Site ⇒ 403, not JSON ⇒ 415, over 64 KB ⇒ 413, a Host that is not loopback ⇒ 403; nothing paused', async () => {
    const post = (headers: Record<string, string>, body = '{"reason":"test"}') =>
      serve.request('/api/pause', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    expect((await post({ Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ Origin: 'null' })).status).toBe(403);
    expect((await post({ 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await post({ 'Sec-Fetch-Site': 'same-site' })).status).toBe(403);
    expect((await post({ 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post({ 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post({}, JSON.stringify({ reason: 'x'.repeat(70 * 1024) }))).status).toBe(413);
    expect(await getWithHost(`${serve.url}/api/snapshot`, 'rebound.example', serve.token)).toBe(403);
    expect(await getWithHost(`${serve.url}/api/snapshot`, `localhost:${new URL(serve.url).port}`, serve.token)).toBe(200);
    expect(fs.existsSync(path.join(home, 'fleet', 'run', 'PAUSED'))).toBe(false);
    expect((await serve.request('/api/pause', { method: 'GET' })).status).toBe(404);
  });

  it('pause and resume from the same origin: the flag written by web:<address>, then removed', async () => {
    const origin = serve.url;
    const r = await serve.request('/api/pause', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin, 'Sec-Fetch-Site': 'same-origin' },
      body: '{"reason":"lunch"}',
    });
    expect(r.status).toBe(200);
    const flag = fs.readFileSync(path.join(home, 'fleet', 'run', 'PAUSED'), 'utf8');
    expect(flag).toMatch(/^by=web:(::ffff:)?127\.0\.0\.1$/m);
    expect(flag).toMatch(/^reason=lunch$/m);
    expect((await serve.request('/api/pause', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(409);
    await waitFor(async () => ((await (await serve.request('/api/snapshot')).json()) as Snapshot).fleet.paused, 'the snapshot shows the pause');
    const metrics = await (await serve.request('/metrics')).text();
    expect(metrics).toMatch(/^mosaic_fleet_paused 1$/m);
    const resumed = await serve.request('/api/resume', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '' });
    expect(resumed.status).toBe(200);
    expect(fs.existsSync(path.join(home, 'fleet', 'run', 'PAUSED'))).toBe(false);
  });

  it('answer needs promptId; an unknown agent is 404', async () => {
    const post = (agent: string, body: unknown) =>
      serve.request(`/api/agents/${agent}/answer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('s1', { answer: 'allow' })).status).toBe(400);
    expect((await post('s1', { answer: 'always', promptId: 'abcd1234' })).status).toBe(400);
    expect((await post('nobody', { answer: 'deny', promptId: 'abcd1234' })).status).toBe(404);
    const refused = (await (await post('s1', { answer: 'deny', promptId: 'abcd1234' })).json()) as { status: string; reason: string };
    expect(refused.status).toBe('refused');
  });

  it('40 concurrent event streams: 32 served, 8 refused with 503, the RSS bounded; served again once they close', async () => {
    const pid = serve.proc.pid!;
    const before = rssKb(pid);
    const controllers = Array.from({ length: 40 }, () => new AbortController());
    const responses = await Promise.all(controllers.map((c) => serve.request('/api/events?page=1', { signal: c.signal })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(32);
    expect(statuses.filter((s) => s === 503)).toHaveLength(8);
    // Every served stream gets the page at once.
    const first = await Promise.all(
      responses
        .filter((r) => r.status === 200)
        .map(async (r) => new TextDecoder().decode((await (r.body as ReadableStream<Uint8Array>).getReader().read()).value)),
    );
    expect(first.every((t) => t.startsWith('event: page'))).toBe(true);
    expect(rssKb(pid) - before).toBeLessThan(64 * 1024);
    for (const c of controllers) c.abort();
    await waitFor(async () => {
      const c = new AbortController();
      const r = await serve.request('/api/events', { signal: c.signal });
      c.abort();
      return r.status === 200;
    }, 'a stream served after the others closed');
  });
});

describe('mosaic-top serve: refusals at start, read-only, failed tokens', () => {
  let home: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-start-'));
    writeHomeRoster(home, 'mt-serve-start-none', [{ name: 'x1', runtime: 'pi' }]);
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('a token file group/other can read ⇒ refused at start (exit 2), nothing listens', async () => {
    const file = path.join(home, 'token-0644');
    fs.writeFileSync(file, `${'a1'.repeat(32)}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const r = await runBin(['--mosaic-home', home, 'serve', '--listen', '127.0.0.1:0', '--token-file', file], serveEnv(), 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/token file .*token-0644 is readable by group or others \(mode 644\); run chmod 600/);
    fs.writeFileSync(path.join(home, 'short'), 'abc\n', { mode: 0o600 });
    const short = await runBin(['--mosaic-home', home, 'serve', '--token-file', path.join(home, 'short')], serveEnv(), 30_000);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 32 characters/);
  });

  it('0.0.0.0 without --token-file ⇒ refused at start (exit 2); --metrics-open off loopback ⇒ refused', async () => {
    const r = await runBin(['--mosaic-home', home, 'serve', '--listen', '0.0.0.0:0'], serveEnv(), 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:0 \(not loopback\) without an explicit --token-file/);
    const file = path.join(home, 'token-ok');
    fs.writeFileSync(file, `${'b2'.repeat(32)}\n`, { mode: 0o600 });
    const m = await runBin(['--mosaic-home', home, 'serve', '--listen', '0.0.0.0:0', '--token-file', file, '--metrics-open'], serveEnv(), 30_000);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/--metrics-open is for a loopback listen only/);
  });

  it('--read-only: every action 403, reading allowed; 10 failed tokens a minute, then 429 even with the right one; SIGTERM exits 0', async () => {
    const serve = await startServe(home, ['--read-only', '--metrics-open']);
    try {
      for (const p of ['/api/pause', '/api/resume', '/api/agents/x1/answer', '/api/agents/x1/send'])
        expect(
          (await serve.request(p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"answer":"deny","promptId":"abcd"}' })).status,
          p,
        ).toBe(403);
      expect(fs.existsSync(path.join(home, 'fleet', 'run', 'PAUSED'))).toBe(false);
      expect((await serve.request('/metrics', { auth: false })).status).toBe(200);
      for (let i = 0; i < 10; i++)
        expect((await serve.request('/api/snapshot', { auth: false, headers: { Authorization: `Bearer wrong${i}` } })).status).toBe(401);
      expect((await serve.request('/api/snapshot')).status).toBe(429);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.stderr()).toMatch(/mosaic-top serve: stopped/);
  });
});
