/**
 * Spend per card, and pi's spend, against REAL runtimes and the test model endpoint (which
 * serves different token counts on every request and records them):
 * - a card dispatched to a real Claude Code (`mosaic-top dispatch --card`: claim + verified
 *   send), worked (a tool turn allowed, the turn after it) and completed: `backlog show` and
 *   `spend --by card` give exactly the tokens served to that agent between the claim and the
 *   complete — not the turn before the claim nor the one after — and `backlog complete` records
 *   them as the card's actual tokens, beside its projected tokens;
 * - pi: a tool turn (pi has no permission prompt) and a streamed reply: the agent's total equals
 *   the served main requests exactly.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/spend-card-pi.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint, type RecordedRequest } from './model-endpoint.js';

interface Tokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  total: number;
}

/** Sum of the served usage of main requests (tools offered) that got a reply. */
function served(requests: readonly RecordedRequest[], withReasoning: boolean): Tokens {
  const t: Tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 };
  for (const r of requests) {
    const u = r.usage;
    if (r.side || !u || !['anthropic', 'responses', 'chat'].includes(r.api)) continue;
    t.input += u.input;
    t.output += u.output;
    t.cacheRead += u.cacheRead;
    t.cacheWrite += u.cacheWrite;
    t.reasoning += withReasoning ? u.reasoning : 0;
    t.total += u.input + u.output + u.cacheRead + u.cacheWrite;
  }
  return t;
}

const mainCount = (requests: readonly RecordedRequest[]): number =>
  requests.filter((r) => !r.side && r.usage && ['anthropic', 'responses', 'chat'].includes(r.api)).length;

let endpoint: ModelEndpoint | null = null;
let pane: RuntimePane | null = null;
let mosaicHome: string | null = null;

/** Launches `runtime` as agent `name` of a throwaway fleet whose roster names the pane's tmux socket. */
async function agent(runtime: 'claude' | 'pi', name: string): Promise<{ pane: RuntimePane; env: NodeJS.ProcessEnv; e: ModelEndpoint }> {
  const e = await startModelEndpoint();
  endpoint = e;
  mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), `mt-rt-spendcard-${runtime}-`));
  pane = await launchRuntime(runtime, { endpoint: e, session: name });
  fs.mkdirSync(path.join(mosaicHome, 'fleet', 'run'), { recursive: true });
  fs.writeFileSync(
    path.join(mosaicHome, 'fleet', 'roster.yaml'),
    `version: 1\ntmux:\n  socket_name: ${pane.tmux.socket}\nagents:\n  - name: ${name}\n    runtime: ${runtime}\n`,
  );
  const { MOSAIC_AGENT_NAME: _n, TMUX: _t, ...base } = process.env;
  return { pane, env: { ...base, MOSAIC_HOME: mosaicHome }, e };
}

/** Waits until no model request is open and the runtime's input line is back. */
async function settled(p: RuntimePane, e: ModelEndpoint, what: string): Promise<void> {
  await waitFor(() => e.open() === 0, what, { timeoutMs: 60_000, intervalMs: 100 });
  await p.waitForScreen(SCREEN[p.runtime].prompt, 60_000);
}

/** Polls `mosaic-top <args> --json` until `pick` of it equals `want`; returns the document. */
async function until<T>(env: NodeJS.ProcessEnv, args: string[], pick: (doc: any) => T, want: T): Promise<any> {
  let last: unknown = null;
  return waitFor(
    async () => {
      const r = await runBin([...args, '--json'], env);
      const doc = r.stdout.trim() ? JSON.parse(r.stdout) : null;
      last = doc === null ? r.stderr : pick(doc);
      return doc !== null && JSON.stringify(pick(doc)) === JSON.stringify(want) ? doc : null;
    },
    `${args.join(' ')} to give ${JSON.stringify(want)} (last: ${JSON.stringify(last)})`,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

/** One text turn outside any card, waited to its end. */
async function turn(p: RuntimePane, e: ModelEndpoint, prompt: string, what: string): Promise<void> {
  const reply = e.queue({ kind: 'text', text: `Reply to ${prompt}.` });
  await p.submit(prompt);
  await reply.finished;
  await settled(p, e, `${what} ended`);
}

/**
 * `mosaic-top dispatch carder --card C7` (claim + verified send), then the card's work: the tool
 * turn (allowed once) and the turn after the tool result. The first token waits 3 s so the
 * send's verification sees the agent busy on the card.
 */
async function dispatchAndWork(p: RuntimePane, e: ModelEndpoint, env: NodeJS.ProcessEnv): Promise<void> {
  e.queue({ kind: 'tool', command: 'echo card > card.txt', text: 'Writing it.', firstTokenDelaySeconds: 3 });
  const after = e.queue({ kind: 'text', text: 'Card done.' });
  const dispatch = await runBin(['dispatch', 'carder', '--card', 'C7', '--timeout', '20', '--json'], env);
  expect(dispatch.code, dispatch.stdout + dispatch.stderr).toBe(0);
  expect(JSON.parse(dispatch.stdout).outcome).toBe('dispatched');
  await p.waitForScreen(SCREEN.claude.permission!, 60_000);
  await p.keys('Enter');
  await after.finished;
  await settled(p, e, 'the card turns ended');
}

describe('spend per card (real Claude Code) and pi spend, equal to what the endpoint served', () => {
  afterEach(async () => {
    await pane?.stop();
    await endpoint?.close();
    if (mosaicHome) await stopEmbeddedServer(resolvePaths({ mosaicHome }), 20_000).catch(() => {});
    if (mosaicHome) fs.rmSync(mosaicHome, { recursive: true, force: true });
    pane = null;
    endpoint = null;
    mosaicHome = null;
  });

  it('Claude Code: a dispatched card costs exactly the tokens served between its claim and its complete', async () => {
    const { pane: p, env, e } = await agent('claude', 'carder');
    // A turn before the claim: the agent's, not the card's.
    await turn(p, e, 'warm up', 'the turn before the claim');
    const create = await runBin(['backlog', 'create', '--id', 'C7', '--title', 'write the card file', '--projected-tokens', '5000', '--json'], env, 180_000);
    // (A first backlog create makes the data dir: slow on a loaded machine.)
    expect(create.code, create.stderr).toBe(0);
    const beforeClaim = e.requests().length;

    await dispatchAndWork(p, e, env);
    const cardRequests = e.requests().slice(beforeClaim);
    const want = served(cardRequests, false);
    expect(mainCount(cardRequests)).toBeGreaterThanOrEqual(2);
    expect(want.total).toBeGreaterThan(0);

    // While claimed: the snapshot's card spend (the console's $ view), then backlog show.
    const live = await until(env, ['--once'], (d) => d.fleet.spend?.cards?.find((c: { card: string }) => c.card === 'C7')?.tokens, want);
    expect(live.fleet.spend.cards.find((c: { card: string }) => c.card === 'C7')).toMatchObject({ agent: 'carder', requests: mainCount(cardRequests) });
    const shown = await until(env, ['backlog', 'show', '--id', 'C7'], (d) => d?.spentTokens, want.total);
    expect(shown.projectedTokens).toBe(5000);
    const human = await runBin(['backlog', 'show', '--id', 'C7'], env);
    expect(human.stdout).toContain(`spent tokens      ${want.total} `);

    const done = await runBin(['backlog', 'complete', '--id', 'C7', '--owner', 'carder', '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ id: 'C7', status: 'done', actualTokens: want.total, projectedTokens: 5000 });

    // A turn after the complete: the agent's again, not the card's.
    await turn(p, e, 'one more thing', 'the turn after the complete');
    const all = served(e.requests(), false);
    expect(all.total).toBeGreaterThan(want.total);
    await until(env, ['spend', '--since', '1d'], (d) => d.rows.find((r: { key: string }) => r.key === 'carder')?.tokens, all);

    const byCard = await until(env, ['spend', '--by', 'card', '--since', '1d'], (d) => d.rows.find((r: { key: string }) => r.key === 'C7')?.tokens, want);
    const row = byCard.rows.find((r: { key: string }) => r.key === 'C7');
    expect(row).toMatchObject({ by: 'card', runtime: 'claude', projectedTokens: 5000, requests: mainCount(cardRequests) });
    expect(row.costUsd).toBeGreaterThan(0);
    const one = JSON.parse((await runBin(['spend', '--card', 'C7', '--since', '1d', '--json'], env)).stdout);
    expect(one.total.tokens).toEqual(want);
  });

  it('pi: a tool turn and a streamed reply count exactly what was served', async () => {
    const { pane: p, env, e } = await agent('pi', 'pispender');
    const afterTool = e.queue({ kind: 'tool', command: 'echo spend > spend.txt', text: 'Writing it.' });
    e.queue({ kind: 'text', text: 'Written.' });
    await p.submit('write the spend file');
    await afterTool.finished;
    await waitFor(() => mainCount(e.requests()) >= 2 && e.open() === 0, 'the tool turn and the turn after it', { timeoutMs: 60_000, intervalMs: 100 });
    await settled(p, e, 'the tool turn ended');
    const streamed = e.queue({ kind: 'text', text: 'A reply streamed in many small pieces over about a second, then done.', paceSeconds: 1.2 });
    await p.submit('and now a longer answer');
    await streamed.finished;
    await settled(p, e, 'the streamed turn ended');
    expect(fs.readFileSync(path.join(p.dirs.workdir, 'spend.txt'), 'utf8')).toBe('spend\n');

    const requests = e.requests();
    expect(mainCount(requests)).toBeGreaterThanOrEqual(3);
    // pi's records hold no reasoning count (it is part of output as served).
    const want = served(requests, false);
    const report = await until(env, ['spend', '--since', '1d'], (d) => d.rows.find((r: { key: string }) => r.key === 'pispender')?.tokens, want);
    const row = report.rows.find((r: { key: string }) => r.key === 'pispender');
    expect(row).toMatchObject({ runtime: 'pi', requests: mainCount(requests), sessions: 1 });
    expect(report.unattributed.requests).toBe(0);
    const once = JSON.parse((await runBin(['--once', '--json'], env)).stdout);
    expect(once.agents.find((a: { name: string }) => a.name === 'pispender').spend.tokens).toEqual(want);
  });
});
