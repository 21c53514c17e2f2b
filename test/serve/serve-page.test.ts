/**
 * `mosaic-top serve` seen from outside, over a real tmux fleet on an isolated socket: the page in
 * REAL headless Chromium (Debian's chromium through playwright-core) — hostile text from the
 * fleet (a roster class with `<script>` and an escape sequence, a heartbeat reason with markup)
 * stays inert, a killed pane turns its row `dead` without a reload within 2 snapshots; a REAL
 * Prometheus (Debian's) scrapes `/metrics` with the token and answers a query with the agents'
 * readiness; `promtool check metrics` passes on a scrape; `events --notify` with the README's
 * ntfy-style one-liner reaches a fake receiver on 127.0.0.1 with a link to the agent's row.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { freePort } from '../helpers/net.js';
import { artifactDir, launchChromium, serveEnv, startServe, type ServeProcess } from '../helpers/serve.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import type { Snapshot } from '../../src/snapshot/types.js';

/** The bits of the browser's globals the page functions use (this project compiles without the DOM lib). */
interface El {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
type Dom = { document: { getElementById(id: string): El | null; querySelector(s: string): El | null; scripts: { length: number } }; __pwned?: unknown };
const HOSTILE_CLASS = '<script>window.__pwned=1</script>\\e[31mred\\a';
const HOSTILE_REASON = '<img src=x onerror="window.__pwned=2"><script>window.__pwned=3</script>';

function writeRoster(home: string, socket: string): void {
  const lines = [
    'version: 1',
    'transport: tmux',
    'tmux:',
    `  socket_name: ${socket}`,
    '  holder_session: _keepalive',
    'agents:',
    '  - name: p1',
    '    runtime: pi',
    `    class: "${HOSTILE_CLASS}"`,
    '  - name: p2',
    '    runtime: pi',
    '    class: coder',
    '  - name: p3',
    '    runtime: pi',
    '    class: coder',
  ];
  fs.mkdirSync(path.join(home, 'fleet', 'run'), { recursive: true });
  fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), `${lines.join('\n')}\n`);
}

describe('mosaic-top serve: the page in Chromium, Prometheus, notifications', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    tmux = await startIsolatedTmux('serve-page');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-page-'));
    writeRoster(home, tmux.socket);
    for (const name of ['p1', 'p2', 'p3']) await tmux.newSession(name, ['sleep', '3600']);
    fs.writeFileSync(path.join(home, 'fleet', 'run', 'p2.hb'), `v=1\nts=${Math.floor(Date.now() / 1000)}\nstate=waiting\nreason=${HOSTILE_REASON}\n`);
    serve = await startServe(home);
    await waitFor(async () => (await serve.request('/api/snapshot')).status === 200, 'first snapshot', { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await serve?.stop();
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('Chromium: hostile fleet text shown as text, never run; a killed pane turns its row dead within 2 snapshots, no reload', async () => {
    const browser = await launchChromium({ width: 390, height: 844 });
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${serve.url}/?token=${serve.token}`);
      expect(new URL(page.url()).search).toBe('');
      await page.waitForFunction(() => (globalThis as unknown as Dom).document.getElementById('conn')?.textContent === 'live');
      const p1 = await page.locator('#agent-p1 .name').innerText();
      expect(p1).toContain('<script>window.__pwned=1</script>^[[31mred^G');
      await page.waitForFunction(() => ((globalThis as unknown as Dom).document.querySelector('#agent-p2 .evidence')?.textContent ?? '').includes('onerror'));
      expect(await page.locator('#agent-p2 .evidence').innerText()).toContain(HOSTILE_REASON);
      // Let a live update replace the part again, then look for anything that ran.
      const seq0 = Number(await page.locator('.fleet').getAttribute('data-seq'));
      await page.waitForFunction((s) => Number((globalThis as unknown as Dom).document.querySelector('.fleet')?.getAttribute('data-seq')) > s, seq0);
      expect(await page.evaluate(() => typeof (globalThis as unknown as Dom).__pwned)).toBe('undefined');
      expect(await page.evaluate(() => (globalThis as unknown as Dom).document.scripts.length)).toBe(1);
      expect(await page.locator('#live img').count()).toBe(0);
      fs.writeFileSync(path.join(artifactDir(), 'serve-phone-hostile.png'), await page.screenshot({ fullPage: true }));

      const before = Number(await page.locator('.fleet').getAttribute('data-seq'));
      expect(await page.locator('#agent-p3').getAttribute('data-readiness')).not.toBe('dead');
      await tmux.killSession('p3');
      const seqDead = await page.waitForFunction(
        () => {
          const d = (globalThis as unknown as Dom).document;
          return d.querySelector('#agent-p3')?.getAttribute('data-readiness') === 'dead' ? Number(d.querySelector('.fleet')?.getAttribute('data-seq')) : null;
        },
        undefined,
        { timeout: 30_000 },
      );
      expect(Number(await seqDead.jsonValue()) - before).toBeLessThanOrEqual(2);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('promtool check metrics passes on a scrape; a real Prometheus scrapes /metrics with the token and a query returns the readiness', async () => {
    const scrape = await (await serve.request('/metrics')).text();
    fs.writeFileSync(path.join(artifactDir(), 'serve-metrics.txt'), scrape);
    const check = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
      p.stdin!.end(scrape);
    });
    expect(check.code, check.out).toBe(0);
    for (const name of ['mosaic_agent_readiness', 'mosaic_agent_flag', 'mosaic_fleet_paused', 'mosaic_transitions_total', 'mosaic_snapshot_duration_seconds'])
      expect(scrape).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-prom-'));
    const promPort = await freePort();
    const target = new URL(serve.url).host;
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: mosaic',
        '    scrape_interval: 1s',
        `    authorization: { type: Bearer, credentials_file: ${path.join(home, 'fleet', 'serve-token')} }`,
        `    static_configs: [ { targets: ['${target}'] } ]`,
      ].join('\n'),
    );
    let prom: ChildProcess | null = null;
    try {
      prom = spawn(
        'prometheus',
        [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
        { stdio: 'ignore' },
      );
      type Result = { metric: Record<string, string>; value: [number, string] };
      const results = await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('mosaic_agent_readiness == 1')}`);
          if (!r.ok) return null;
          const body = (await r.json()) as { data: { result: Result[] } };
          return body.data.result.length === 3 ? body.data.result : null;
        },
        'Prometheus has scraped the readiness of 3 agents',
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const snapshot = (await (await serve.request('/api/snapshot')).json()) as Snapshot;
      const scraped = Object.fromEntries(results.map((r) => [r.metric.agent, r.metric.readiness]));
      expect(scraped).toEqual(Object.fromEntries(snapshot.agents.map((a) => [a.name, a.readiness])));
      expect(results.every((r) => r.metric.job === 'mosaic')).toBe(true);
    } finally {
      if (prom?.pid) {
        const exited = new Promise((resolve) => prom!.once('exit', resolve));
        prom.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("events --notify with the README's ntfy one-liner: the receiver gets the agent, its state and a link to its row on the page", async () => {
    const got: { url: string; click: string; title: string; body: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        got.push({ url: req.url ?? '', click: String(req.headers.click ?? ''), title: String(req.headers.title ?? ''), body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    const page = serve.url;
    const oneLiner = `f() { curl -fsS -m 5 -H "Title: mosaic-top: $1 is $2" -H "Click: ${page}/#agent-$1" -d "$1 is $2" http://127.0.0.1:${port}/mosaic-fleet; }; f`;
    await tmux.newSession('p2b', ['sleep', '3600']);
    const events = spawn(process.execPath, [BIN, '--mosaic-home', home, 'events', '--follow', '--interval', '1', '--no-history', '--notify', oneLiner], {
      env: { ...serveEnv(), MOSAIC_TOP_EVENTS_TRACE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    events.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => /tick 1:/.test(err), 'events baseline', { timeoutMs: 30_000 });
      await tmux.killSession('p1');
      const hit = await waitFor(() => got.find((g) => g.body === 'p1 is dead'), `the receiver hears p1 is dead (stderr: ${err})`, { timeoutMs: 30_000 });
      expect(hit.url).toBe('/mosaic-fleet');
      expect(hit.click).toBe(`${page}/#agent-p1`);
      expect(hit.title).toBe('mosaic-top: p1 is dead');
      // The link's anchor is the agent's row on the page.
      expect(await (await serve.request('/')).text()).toContain('<tr id="agent-p1"');
    } finally {
      const exited = new Promise((resolve) => events.once('exit', resolve));
      events.kill('SIGTERM');
      await exited;
      receiver.close();
    }
  });
});
