/**
 * The spend meter end to end, on a real tmux server (isolated socket) whose panes run stand-in
 * runtime processes (a copy of `sleep` named `claude` / `codex`, so /proc shows the runtime's
 * name, environ and cwd as a real agent's would) and record files in the runtimes' formats.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { claudeProjectSlug, readSources, recordSource } from '../../fleet/spend/sources.js';
import { runBin } from '../helpers/bin.js';
import { snapshotValidator } from '../helpers/schema.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import type { SpendReport } from '../../fleet/spend/report.js';
import { readJson } from '../helpers/json.js';
import { createLiveCollector } from '../../src/snapshot/live.js';
import type { WatchedMeterReads } from '../../fleet/spend/meter-reads.js';
import { claudeRecord } from '../helpers/spend-records.js';
import { at } from '../helpers/must.js';

function codexRollout(cwd: string, at: Date, used: number, resetsInS: number): string {
  const reset = Math.floor(at.getTime() / 1000) + resetsInS;
  return [
    { timestamp: at.toISOString(), type: 'session_meta', payload: { id: 'cx-1', cwd } },
    { timestamp: at.toISOString(), type: 'turn_context', payload: { model: 'gpt-5.1-codex' } },
    {
      timestamp: at.toISOString(),
      type: 'event_msg',
      payload: {
        type: 'token_count',
        info: {
          last_token_usage: { input_tokens: 1000, cached_input_tokens: 600, output_tokens: 70, reasoning_output_tokens: 10, total_tokens: 1070 },
          total_token_usage: { input_tokens: 1000, cached_input_tokens: 600, output_tokens: 70, reasoning_output_tokens: 10, total_tokens: 1070 },
        },
        // 5-hour window, 4 h 10 min left: 50 min elapsed (1/6); `used` % used.
        rate_limits: { primary: { used_percent: used, window_minutes: 300, resets_at: reset } },
      },
    },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n');
}

describe('spend meter (real tmux, stand-in runtime processes)', () => {
  let tmux: IsolatedTmux;
  let root: string;
  let paths: MosaicPaths;
  let env: NodeJS.ProcessEnv;
  let bin: string;

  beforeEach(async () => {
    tmux = await startIsolatedTmux('spend');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-spend-'));
    paths = resolvePaths({ mosaicHome: path.join(root, 'mosaic') }, {});
    bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    for (const name of ['claude', 'codex']) fs.copyFileSync('/bin/sleep', path.join(bin, name));
    env = { ...process.env, MOSAIC_HOME: paths.mosaicHome, XDG_CACHE_HOME: path.join(root, 'cache') };
    delete env.TMUX;
  });
  afterEach(async () => {
    await tmux.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function launch(agent: string, runtime: 'claude' | 'codex', home: string, cwd: string): Promise<void> {
    fs.mkdirSync(cwd, { recursive: true });
    await tmux.newSession(agent, [path.join(bin, runtime), '3600'], { cwd, env: { HOME: home } });
  }

  it('attributes records to agents by their runtime process; quota pace raises OVER-PACE; --once --json validates', async () => {
    const now = new Date();
    const homeA = path.join(root, 'home-a');
    const homeB = path.join(root, 'home-b');
    const cwdA = path.join(root, 'work', 'a.repo');
    const cwdB = path.join(root, 'work', 'b');
    writeHomeRoster(paths.mosaicHome, tmux.socket, [
      { name: 'coder-a', runtime: 'claude' },
      { name: 'coder-b', runtime: 'codex' },
    ]);
    await launch('coder-a', 'claude', homeA, cwdA);
    await launch('coder-b', 'codex', homeB, cwdB);
    const projectDir = path.join(homeA, '.claude', 'projects', claudeProjectSlug(cwdA));
    fs.mkdirSync(path.join(projectDir, 'sess-1', 'subagents'), { recursive: true });
    // A tool turn written twice (same id): counts once. A subagent's transcript counts too.
    fs.writeFileSync(
      path.join(projectDir, 'sess-1.jsonl'),
      [
        claudeRecord('m1', [3, 40, 500, 60], now, 'sess-1'),
        claudeRecord('m1', [3, 40, 500, 60], now, 'sess-1'),
        claudeRecord('m2', [5, 7, 900, 11], now, 'sess-1'),
      ].join('\n') + '\n',
    );
    fs.writeFileSync(path.join(projectDir, 'sess-1', 'subagents', 'agent-x.jsonl'), `${claudeRecord('m3', [1, 2, 3, 4], now, 'sess-1')}\n`);
    const day = now.toISOString().slice(0, 10).split('-');
    const codexDir = path.join(homeB, '.codex', 'sessions', ...day);
    fs.mkdirSync(codexDir, { recursive: true });
    // 40 % used after 1/6 of the window: 240 % by reset ⇒ over.
    fs.writeFileSync(path.join(codexDir, 'rollout-2026-12-06T08-00-00-cx-1.jsonl'), `${codexRollout(cwdB, now, 40, 250 * 60)}\n`);
    // A session of another directory in the same CODEX_HOME is not coder-b's.
    fs.writeFileSync(path.join(codexDir, 'rollout-2026-12-06T08-00-01-cx-2.jsonl'), `${codexRollout('/elsewhere', now, 40, 250 * 60)}\n`);

    const once = await waitFor(
      async () => {
        const r = await runBin(['--once', '--json'], env);
        const s = JSON.parse(r.stdout) as Snapshot;
        return s.agents.every((a) => a.spend && a.spend.tokens.total > 0) ? s : null;
      },
      'both agents metered',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const validate = snapshotValidator();
    expect(validate(once), JSON.stringify(validate.errors)).toBe(true);
    const a = once.agents.find((x) => x.name === 'coder-a')!;
    const b = once.agents.find((x) => x.name === 'coder-b')!;
    expect(a.spend?.tokens).toEqual({ input: 9, output: 49, cacheRead: 1403, cacheWrite: 75, reasoning: 0, total: 1536 });
    expect(a.spend?.costUsd).toBeCloseTo((9 * 5 + 49 * 25 + 1403 * 0.5 + 75 * 6.25) / 1e6, 9);
    expect(b.spend?.tokens).toEqual({ input: 400, output: 70, cacheRead: 600, cacheWrite: 0, reasoning: 10, total: 1070 });
    expect(b.spend?.quota).toHaveLength(1);
    expect(b.spend?.quota[0]).toMatchObject({ agent: 'coder-b', window: 'primary', usedPercent: 40, windowMinutes: 300, pace: 'over' });
    expect(b.spend?.quota[0]?.projectedPercentAtReset).toBeGreaterThan(200);
    expect(b.flags).toContain('OVER-PACE');
    expect(a.flags).not.toContain('OVER-PACE');
    expect(once.fleet.spend?.tokens.total).toBe(1536 + 1070);
    expect(once.fleet.spend?.worstPace).toBe('over');
    // The scopes learned from the processes are recorded for later runs.
    expect(readSources(paths.runDir, 'coder-a')[0]).toMatchObject({ kind: 'scope', runtime: 'claude', path: projectDir });

    const spend = await runBin(['spend', '--json', '--by', 'model'], env);
    expect(spend.code, spend.stderr).toBe(0);
    const report = readJson<SpendReport>(spend.stdout);
    expect(report.schema).toBe('mosaic-top/spend@1');
    expect(report.rows.map((r) => [r.key, r.requests])).toEqual([
      ['claude-opus-4-8', 3],
      ['gpt-5.1-codex', 1],
    ]);
    expect(Object.keys(at(report.rows, 0)).sort()).toEqual(['by', 'costUsd', 'key', 'requests', 'runtime', 'sessions', 'tokens', 'unpricedModels'].sort());
    expect(Object.keys(at(report.quota, 0)).sort()).toEqual(
      ['agent', 'runtime', 'window', 'windowMinutes', 'usedPercent', 'resetsAt', 'elapsedPercent', 'projectedPercentAtReset', 'pace'].sort(),
    );
    const table = await runBin(['spend'], env);
    expect(table.stdout).toMatch(/^coder-a\s+claude\s+9\s+49\s+1403\s+75\s+1536\s+\$0\.00\s+3\s+1$/m);
    expect(table.stdout).toMatch(/quota coder-b primary: 40% used, .* pace over \(OVER-PACE\)/);
  });

  it('a session two agents could own is unattributed with the reason; a hook-named transcript is exact', async () => {
    const now = new Date();
    const home = path.join(root, 'home');
    const cwd = path.join(root, 'work', 'shared');
    writeHomeRoster(paths.mosaicHome, tmux.socket, [
      { name: 'one', runtime: 'claude' },
      { name: 'two', runtime: 'claude' },
    ]);
    await launch('one', 'claude', home, cwd);
    await launch('two', 'claude', home, cwd);
    const projectDir = path.join(home, '.claude', 'projects', claudeProjectSlug(cwd));
    fs.mkdirSync(projectDir, { recursive: true });
    fs.writeFileSync(path.join(projectDir, 's1.jsonl'), `${claudeRecord('m1', [1, 1, 1, 1], now, 'sess-1')}\n`);
    fs.writeFileSync(path.join(projectDir, 's2.jsonl'), `${claudeRecord('m2', [2, 2, 2, 2], now, 'sess-1')}\n`);
    // Agent two's hook named s2.jsonl: exact evidence.
    recordSource(paths.runDir, 'two', {
      kind: 'transcript',
      runtime: 'claude',
      path: path.join(projectDir, 's2.jsonl'),
      cwd,
      evidence: 'hook Stop',
      at: Date.now(),
    });
    const r = await waitFor(
      async () => {
        const out = await runBin(['spend', '--json'], env);
        const rep = readJson<SpendReport>(out.stdout);
        return rep.unattributed.requests > 0 ? rep : null;
      },
      'the shared session reported',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(r.rows.map((x) => [x.key, x.tokens.total])).toEqual([['two', 8]]);
    expect(r.unattributed.tokens.total).toBe(4);
    expect(r.unattributed.reasons).toEqual([`claude sessions in ${projectDir} could be one or two (same directory and cwd, no hook named them)`]);
  });
  it('the live collector (push on) meters through watches: a record appended is counted within one tick after its event, as --once counts it', async () => {
    const now = new Date();
    const home = path.join(root, 'home-live');
    const cwd = path.join(root, 'work', 'live');
    writeHomeRoster(paths.mosaicHome, tmux.socket, [{ name: 'watcher', runtime: 'claude' }]);
    await launch('watcher', 'claude', home, cwd);
    const projectDir = path.join(home, '.claude', 'projects', claudeProjectSlug(cwd));
    fs.mkdirSync(projectDir, { recursive: true });
    const file = path.join(projectDir, 'sess-live.jsonl');
    fs.writeFileSync(file, `${claudeRecord('m1', [3, 40, 500, 60], now, 'sess-1')}\n`);
    const live = await createLiveCollector({ paths, env: {} });
    try {
      const reads = live.spend!.meter.reads as WatchedMeterReads;
      expect(reads.watching).toBe(true);
      const tokensNow = async () => (await live.collect(new AbortController().signal)).agents.find((a) => a.name === 'watcher')?.spend?.tokens.total;
      await waitFor(async () => (await tokensNow()) === 603, 'the first record metered', { timeoutMs: 30_000, intervalMs: 200 });
      const changes = reads.changesIn.get(projectDir) ?? 0;
      fs.appendFileSync(file, `${claudeRecord('m2', [1, 2, 3, 4], now, 'sess-1')}\n`);
      await waitFor(() => (reads.changesIn.get(projectDir) ?? 0) > changes, 'the record dir event');
      expect(await tokensNow()).toBe(613);
      expect(reads.stats.watches).toBeGreaterThan(0);
    } finally {
      await live.close();
    }
    const once = JSON.parse((await runBin(['--once', '--json'], env)).stdout) as Snapshot;
    expect(once.agents.find((a) => a.name === 'watcher')?.spend?.tokens).toEqual({
      input: 4,
      output: 42,
      cacheRead: 503,
      cacheWrite: 64,
      reasoning: 0,
      total: 613,
    });
  });
});
