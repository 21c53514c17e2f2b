/**
 * opencode's spend against the REAL opencode 1.18.33 and the test model endpoint (different
 * token counts on every request, recorded): a tool turn allowed once and the turn after it,
 * then a streamed reply; the agent's total in `mosaic-top spend --json` (read from opencode's
 * SQLite store with the `sqlite3` shell, read-only) equals the served main requests exactly —
 * output with its reasoning part, reasoning also apart. Its title request (no tools) is
 * served but in no message row.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/spend-opencode.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';

describe('opencode spend equals what the endpoint served', () => {
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

  it('a tool turn, the turn after it and a streamed reply count exactly; the title request is in no record', async () => {
    const e = await startModelEndpoint();
    endpoint = e;
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-spend-oc-'));
    const p = await launchRuntime('opencode', { endpoint: e, session: 'ocspender', startBoundMs: 240_000 });
    pane = p;
    fs.mkdirSync(path.join(mosaicHome, 'fleet', 'run'), { recursive: true });
    fs.writeFileSync(
      path.join(mosaicHome, 'fleet', 'roster.yaml'),
      `version: 1\ntmux:\n  socket_name: ${p.tmux.socket}\nagents:\n  - name: ocspender\n    runtime: opencode\n`,
    );
    const { MOSAIC_AGENT_NAME: _n, TMUX: _t, ...base } = process.env;
    const env = { ...base, MOSAIC_HOME: mosaicHome };

    e.queue({ kind: 'tool', command: 'echo spend > spend.txt', text: 'Writing it.' });
    const after = e.queue({ kind: 'text', text: 'Written.' });
    await p.submit('write the spend file');
    await p.waitForScreen(SCREEN.opencode.permission!, 120_000);
    await p.keys('Enter');
    await after.finished;
    await waitFor(() => e.open() === 0, 'the tool turn ended', { timeoutMs: 120_000, intervalMs: 100 });
    await p.waitForScreenGone(SCREEN.opencode.busy, 120_000);
    expect(fs.readFileSync(path.join(p.dirs.workdir, 'spend.txt'), 'utf8')).toBe('spend\n');
    const streamed = e.queue({ kind: 'text', text: 'A reply streamed in many small pieces over about a second, then done.', paceSeconds: 1.2 });
    await p.submit('and now a longer answer');
    await streamed.finished;
    await waitFor(() => e.open() === 0, 'the streamed turn ended', { timeoutMs: 120_000, intervalMs: 100 });

    const main = e.requests().filter((r) => !r.side && r.usage && r.api === 'chat');
    expect(main.length).toBeGreaterThanOrEqual(3);
    expect(e.requests().some((r) => r.side)).toBe(true);
    const want = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 };
    for (const r of main) {
      const u = r.usage!;
      want.input += u.input;
      want.output += u.output;
      want.cacheRead += u.cacheRead;
      want.cacheWrite += u.cacheWrite;
      want.reasoning += u.reasoning;
      want.total += u.input + u.output + u.cacheRead + u.cacheWrite;
    }
    let last = '';
    const report = await waitFor(
      async () => {
        const r = await runBin(['spend', '--since', '1d', '--json'], env);
        last = r.stdout + r.stderr;
        const doc = JSON.parse(r.stdout);
        const row = doc.rows.find((x: { key: string }) => x.key === 'ocspender');
        return row && JSON.stringify(row.tokens) === JSON.stringify(want) ? doc : null;
      },
      `opencode spend to equal ${JSON.stringify(want)}`,
      { timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${last.slice(0, 1500)}`);
    });
    const row = report.rows.find((x: { key: string }) => x.key === 'ocspender');
    expect(row).toMatchObject({ runtime: 'opencode', requests: main.length, sessions: 1 });
    expect(report.unattributed.requests).toBe(0);
    const once = JSON.parse((await runBin(['--once', '--json'], env)).stdout);
    expect(once.agents.find((a: { name: string }) => a.name === 'ocspender').spend.tokens).toEqual(want);
  });
});
