/**
 * Spend against the REAL Claude Code and Codex: the model endpoint serves different token
 * counts on every request (input, output, cache read, cache write) and records them; the
 * agent's total in `mosaic-top spend --json` must equal the served totals of its MAIN requests
 * exactly — a tool turn (written twice by Claude), the turn after the tool, a reply streamed
 * over a second included. Side requests (title generation, no tools) are served and billed
 * but are in no record (docs/spend.md). Codex's rate-limit headers give quota rows and pace;
 * a window that will run out early raises OVER-PACE. ccusage (a peer, installed into the test
 * cache, never a dependency) reads the same records to the same per-session totals.
 *
 * Run: `npx tsc -p tsconfig.json && npx vitest run test/runtimes/spend.test.ts`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { ensureExtra } from './install.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint, type RecordedRequest } from './model-endpoint.js';
import { at } from '../helpers/must.js';

const execFileAsync = promisify(execFile);

interface Tokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  total: number;
}

function servedMain(endpoint: ModelEndpoint): { tokens: Tokens; requests: RecordedRequest[] } {
  const requests = endpoint.requests().filter((r) => !r.side && r.usage && ['anthropic', 'responses', 'chat'].includes(r.api));
  const t: Tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 };
  for (const r of requests) {
    const u = r.usage!;
    t.input += u.input;
    t.output += u.output;
    t.cacheRead += u.cacheRead;
    t.cacheWrite += u.cacheWrite;
    t.reasoning += u.reasoning;
    t.total += u.input + u.output + u.cacheRead + u.cacheWrite;
  }
  return { tokens: t, requests };
}

describe('spend from the real runtimes equals what the endpoint served', () => {
  let endpoint: ModelEndpoint | null = null;
  let pane: RuntimePane | null = null;
  let mosaicHome: string | null = null;
  afterEach(async () => {
    await pane?.stop();
    await endpoint?.close();
    if (mosaicHome) fs.rmSync(mosaicHome, { recursive: true, force: true });
    pane = null;
    endpoint = null;
    mosaicHome = null;
  });

  /** Launches `runtime` as agent `name` of a throwaway fleet whose roster names the pane's tmux socket. */
  async function agent(runtime: 'claude' | 'codex', name: string): Promise<{ pane: RuntimePane; env: NodeJS.ProcessEnv }> {
    endpoint = await startModelEndpoint();
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), `mt-rt-spend-${runtime}-`));
    pane = await launchRuntime(runtime, { endpoint, session: name });
    fs.mkdirSync(path.join(mosaicHome, 'fleet', 'run'), { recursive: true });
    fs.writeFileSync(
      path.join(mosaicHome, 'fleet', 'roster.yaml'),
      `version: 1\ntmux:\n  socket_name: ${pane.tmux.socket}\nagents:\n  - name: ${name}\n    runtime: ${runtime}\n`,
    );
    const { MOSAIC_AGENT_NAME: _n, TMUX: _t, ...base } = process.env;
    return { pane, env: { ...base, MOSAIC_HOME: mosaicHome } };
  }

  /** A tool turn (permission allowed), the turn after it, then a reply streamed over a second. */
  async function work(p: RuntimePane, e: ModelEndpoint): Promise<void> {
    e.queue({ kind: 'tool', command: 'echo spend > spend.txt', text: 'Writing it.' });
    const after = e.queue({ kind: 'text', text: 'Written.' });
    await p.submit('write the spend file');
    await p.waitForScreen(SCREEN[p.runtime].permission!, 60_000);
    await p.keys('Enter');
    await after.finished;
    await waitFor(() => e.open() === 0, 'the tool turn ended', { timeoutMs: 60_000, intervalMs: 100 });
    await p.waitForScreen(SCREEN[p.runtime].prompt, 60_000);
    const streamed = e.queue({ kind: 'text', text: 'A reply streamed in many small pieces over about a second, then done.', paceSeconds: 1.2 });
    await p.submit('and now a longer answer');
    await streamed.finished;
    await waitFor(() => e.open() === 0, 'the streamed turn ended', { timeoutMs: 60_000, intervalMs: 100 });
    await p.waitForScreen(SCREEN[p.runtime].prompt, 60_000);
  }

  async function spendOf(env: NodeJS.ProcessEnv, name: string, want: Tokens): Promise<Record<string, any>> {
    let last: unknown = null;
    return waitFor(
      async () => {
        const r = await runBin(['spend', '--json'], env);
        const report = JSON.parse(r.stdout);
        last = report.rows;
        const row = report.rows.find((x: { key: string }) => x.key === name);
        return row && row.tokens.total === want.total ? report : null;
      },
      `spend of ${name} to reach the served total ${JSON.stringify(want)} (last rows: ${JSON.stringify(last)})`,
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(async (error) => {
      const r = await runBin(['spend', '--json'], env);
      const reqs = endpoint!
        .requests()
        .map(
          (x) =>
            `#${x.seq} ${x.api} side=${x.side} ${x.served} tools=${Array.isArray(x.body?.tools) ? x.body.tools.length : '-'} usage=${JSON.stringify(x.usage)} max_tokens=${x.body?.max_tokens} q=${x.query}`,
        );
      const recs: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
          const f = path.join(d, e.name);
          if (e.isDirectory()) walk(f);
          else if (f.endsWith('.jsonl'))
            for (const l of fs
              .readFileSync(f, 'utf8')
              .split('\n')
              .filter((x) => x.includes('usage'))) {
              const j = JSON.parse(l);
              if (j.type !== 'assistant') recs.push(l.slice(0, 900));
              else
                recs.push(
                  `${path.basename(f)} ${j.type} id=${j.message?.id} req=${j.requestId} in=${j.message?.usage?.input_tokens ?? j.payload?.info?.last_token_usage?.input_tokens} out=${j.message?.usage?.output_tokens}`,
                );
            }
        }
      };
      walk(pane!.dirs.home);
      throw new Error(`${(error as Error).message}; now: ${r.stdout.slice(0, 600)} ${r.stderr}\nrequests:\n${reqs.join('\n')}\nrecords:\n${recs.join('\n')}`);
    });
  }

  async function ccusage(kind: 'claude' | 'codex', env: Record<string, string>): Promise<any> {
    const cc = await ensureExtra('ccusage');
    const { stdout } = await execFileAsync(cc.binPath, [kind, 'session', '--json', '--offline'], {
      env: { PATH: process.env.PATH ?? '', HOME: env.HOME, ...env },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout);
  }

  it('Claude Code: tool turn written twice and streamed reply count once each; equal to ccusage per session', async () => {
    const { pane: p, env } = await agent('claude', 'spender');
    await work(p, endpoint!);
    const served = servedMain(endpoint!);
    // Main requests: the tool turn, the turn after the tool result, the streamed reply (at least).
    expect(served.requests.length).toBeGreaterThanOrEqual(3);
    expect(endpoint!.requests().some((r) => r.side)).toBe(true);
    const report = await spendOf(env, 'spender', served.tokens);
    const row = report.rows.find((x: { key: string }) => x.key === 'spender');
    expect(row.tokens).toEqual({ ...served.tokens, reasoning: 0 });
    expect(row.requests).toBe(served.requests.length);
    expect(row.costUsd).toBeGreaterThan(0);
    expect(report.unattributed.requests).toBe(0);

    const cc = await ccusage('claude', { HOME: p.dirs.home, CLAUDE_CONFIG_DIR: path.join(p.dirs.home, '.claude') });
    const sessions = cc.sessions as { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number }[];
    const sum = (k: keyof (typeof sessions)[number]) => sessions.reduce((a, s) => a + s[k], 0);
    expect({ input: sum('inputTokens'), output: sum('outputTokens'), cacheRead: sum('cacheReadTokens'), cacheWrite: sum('cacheCreationTokens') }).toEqual({
      input: row.tokens.input,
      output: row.tokens.output,
      cacheRead: row.tokens.cacheRead,
      cacheWrite: row.tokens.cacheWrite,
    });
  });

  it('Codex: input without the cached part, reasoning apart; rate-limit headers give quota rows and OVER-PACE; equal to ccusage', async () => {
    const { pane: p, env } = await agent('codex', 'cxspender');
    const now = Math.floor(Date.now() / 1000);
    // Primary: 40 % used with 250 of 300 minutes left (1/6 elapsed) ⇒ 240 % by reset: over.
    // Secondary: 5 % used one day into a week ⇒ 35 % by reset: under.
    endpoint!.setRateLimits({
      primary: { usedPercent: 40, windowMinutes: 300, resetAt: now + 250 * 60 },
      secondary: { usedPercent: 5, windowMinutes: 10080, resetAt: now + 6 * 86_400 },
    });
    await work(p, endpoint!);
    const served = servedMain(endpoint!);
    expect(served.requests.some((r) => r.served.startsWith('tool '))).toBe(true);
    expect(served.requests.length, served.requests.map((r) => r.served).join(', ')).toBeGreaterThanOrEqual(3);
    const report = await spendOf(env, 'cxspender', served.tokens);
    const row = report.rows.find((x: { key: string }) => x.key === 'cxspender');
    expect(row.tokens).toEqual(served.tokens);
    expect(row.requests).toBe(served.requests.length);
    const quota = report.quota as { window: string; usedPercent: number; windowMinutes: number; pace: string; projectedPercentAtReset: number }[];
    expect(quota.map((q) => [q.window, q.usedPercent, q.windowMinutes, q.pace])).toEqual([
      ['primary', 40, 300, 'over'],
      ['secondary', 5, 10080, 'under'],
    ]);
    expect(at(quota, 0).projectedPercentAtReset).toBeGreaterThan(200);
    const once = JSON.parse((await runBin(['--once', '--json'], env)).stdout);
    const a = once.agents.find((x: { name: string }) => x.name === 'cxspender');
    expect(a.flags).toContain('OVER-PACE');
    expect(a.spend.tokens).toEqual(served.tokens);

    const cc = await ccusage('codex', { HOME: p.dirs.home, CODEX_HOME: p.dirs.codexHome });
    const sessions = cc.sessions as {
      inputTokens: number;
      cacheReadTokens: number;
      cacheCreationTokens: number;
      outputTokens: number;
      reasoningOutputTokens: number;
    }[];
    expect(sessions).toHaveLength(1);
    const sum = (k: keyof (typeof sessions)[number]) => sessions.reduce((acc, s) => acc + s[k], 0);
    // ccusage 20 reports Codex input without the cached part too.
    expect({
      input: sum('inputTokens'),
      cacheRead: sum('cacheReadTokens'),
      cacheWrite: sum('cacheCreationTokens'),
      output: sum('outputTokens'),
      reasoning: sum('reasoningOutputTokens'),
    }).toEqual({
      input: row.tokens.input,
      cacheRead: row.tokens.cacheRead,
      cacheWrite: row.tokens.cacheWrite,
      output: row.tokens.output,
      reasoning: row.tokens.reasoning,
    });
  });
});
