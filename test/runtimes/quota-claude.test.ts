/**
 * Claude Code's subscription windows against the REAL Claude Code: the model endpoint sends the
 * `anthropic-ratelimit-unified-5h-*` / `-7d-*` headers a subscription session gets; `mosaic-top
 * hooks install --statusline` wires our `statusline-hook` as Claude's statusLine; Claude fills the statusline
 * JSON's `rate_limits` from those headers, the hook records them, and the agent's quota rows in
 * `spend --json` and `--once --json` equal what the endpoint sent, with pace: a 5-hour window
 * that will run out early raises OVER-PACE. Claude fills `rate_limits` only when signed in to a
 * subscription (OAuth scope `user:inference`), so the pane runs with `CLAUDE_CODE_OAUTH_TOKEN`
 * (a test token: the endpoint checks no credential) instead of an API key.
 *
 * Run: `npx tsc -p tsconfig.json && npx vitest run test/runtimes/quota-claude.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { launchRuntime, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';

/** The line our statusline-hook prints under Claude's input box (the model's name first). */
const OUR_LINE = /^ {2}(Sonnet|Opus|Haiku|Claude|claude-)[^\n│]*$/m;

interface Quota {
  agent: string;
  runtime: string;
  window: string;
  windowMinutes: number;
  usedPercent: number;
  resetsAt: string;
  pace: string;
  projectedPercentAtReset: number | null;
}

describe("real Claude Code's statusline windows recorded by `hooks install --statusline`", () => {
  let endpoint: ModelEndpoint;
  let pane: RuntimePane;
  let mosaicHome: string;
  let env: NodeJS.ProcessEnv;
  let installOut = '';
  const now = Math.floor(Date.now() / 1000);
  // 5 hours: 40 % used with 250 of 300 minutes left (1/6 elapsed) ⇒ 240 % by reset: over.
  // 7 days: 5 % used one day into the week ⇒ 35 % by reset: under.
  const fiveHour = { utilization: 0.4, resetAt: now + 250 * 60 };
  const sevenDay = { utilization: 0.05, resetAt: now + 6 * 86_400 };

  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    endpoint.setUnifiedRateLimits({ fiveHour, sevenDay });
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-quota-'));
    const { MOSAIC_AGENT_NAME: _n, TMUX: _t, ...base } = process.env;
    env = { ...base, MOSAIC_HOME: mosaicHome };
    pane = await launchRuntime('claude', {
      endpoint,
      session: 'ccquota',
      env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-mosaic-top-test-token', ANTHROPIC_API_KEY: '' },
      // Our statusLine replaces the `? for shortcuts` footer the launcher waits for: wait for our line.
      waitForIdle: false,
      prepare: async (dirs) => {
        fs.mkdirSync(path.join(mosaicHome, 'fleet', 'run'), { recursive: true });
        fs.writeFileSync(
          path.join(mosaicHome, 'fleet', 'roster.yaml'),
          `version: 1\nagents:\n  - name: ccquota\n    runtime: claude\n    working_directory: ${dirs.workdir}\n`,
        );
        const r = await runBin(['hooks', 'install', '--statusline', 'ccquota'], { ...env, HOME: dirs.home });
        installOut = r.stdout + r.stderr;
        if (r.code !== 0) throw new Error(`hooks install failed: ${installOut}`);
      },
    });
    await pane.waitForScreen(OUR_LINE, 60_000);
  }, 700_000); // may wait for a free runtime-pane slot (slots.ts: acquirePaneSlot)
  afterAll(async () => {
    await pane?.stop();
    await endpoint?.close();
    if (mosaicHome) fs.rmSync(mosaicHome, { recursive: true, force: true });
  });

  it('install added the statusLine; hooks status says it records the windows', async () => {
    expect(installOut).toContain('added statusLine');
    const settings = JSON.parse(fs.readFileSync(path.join(pane.dirs.workdir, '.claude', 'settings.json'), 'utf8'));
    expect(settings.statusLine.command).toContain('statusline-hook --mosaic-home');
    const status = await runBin(['hooks', 'status', 'ccquota'], { ...env, HOME: pane.dirs.home });
    expect(status.stdout).toContain('statusLine records subscription windows');
  });

  it("a turn's rate-limit headers become the agent's quota rows with pace; the 5-hour window raises OVER-PACE", async () => {
    const reply = endpoint.queue({ kind: 'text', text: 'Quota noted.' });
    await pane.submit('how much quota is left', { force: true });
    await reply.finished;
    // Claude's statusline shows what our hook printed from the headers' windows.
    await pane.waitForScreen(/ · 5h 40% · 7d 5%/, 60_000);
    const file = path.join(mosaicHome, 'fleet', 'run', 'spend', 'ccquota.quota.json');
    let last = '';
    const quota = await waitFor(
      async () => {
        const r = await runBin(['spend', '--json'], env);
        last = r.stdout.slice(0, 800) + r.stderr;
        const q = (JSON.parse(r.stdout) as { quota: Quota[] }).quota.filter((x) => x.agent === 'ccquota');
        return q.length === 2 ? q : null;
      },
      'two quota rows for ccquota',
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; last spend: ${last}; screen:\n${await pane.capture()}`);
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(quota.map((q) => [q.runtime, q.window, q.windowMinutes, q.usedPercent, q.resetsAt, q.pace])).toEqual([
      ['claude', 'primary', 300, 40, new Date(fiveHour.resetAt * 1000).toISOString(), 'over'],
      ['claude', 'secondary', 10_080, 5, new Date(sevenDay.resetAt * 1000).toISOString(), 'under'],
    ]);
    expect(quota[0]!.projectedPercentAtReset).toBeGreaterThan(200);
    const once = JSON.parse((await runBin(['--once', '--json'], env)).stdout);
    const a = once.agents.find((x: { name: string }) => x.name === 'ccquota');
    expect(a.flags).toContain('OVER-PACE');
    expect(a.spend.quota.map((q: Quota) => [q.window, q.usedPercent, q.pace])).toEqual([
      ['primary', 40, 'over'],
      ['secondary', 5, 'under'],
    ]);
  });
});
