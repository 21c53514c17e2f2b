/**
 * Claude's statusline windows (pure parts and files): the statusline JSON's `rate_limits` as
 * Claude Code 2.1.197 builds it ⇒ spend@1 windows; the quota file round trip and its bounds;
 * the statusLine merge that never replaces the operator's; the meter's quota rows with pace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeStatusLine, statuslineCommand, statusLineDetail, statusLineState } from '../../fleet/hooks-install/statusline-config.js';
import { runStatuslineHook } from '../../fleet/hooks-install/statusline-hook.js';
import { SpendMeter } from '../../fleet/spend/meter.js';
import { quotaRows } from '../../fleet/spend/report.js';
import { parseQuotaFile, quotaPath, readQuota, recordQuota, statuslineRates, statuslineText } from '../../fleet/spend/statusline.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'spend-statusline-'));
  dirs.push(d);
  return d;
}

/** The statusline document's parts we read, as Claude Code 2.1.197 writes them (utilization × 100, unix-second resets). */
function doc(limits: unknown): unknown {
  return { session_id: 's-1', model: { id: 'claude-opus-4-8', display_name: 'Opus 4.8' }, cwd: '/w', rate_limits: limits };
}

const target = { node: '/usr/bin/node', bin: '/opt/mosaic-top/bin/mosaic-top', mosaicHome: '/home/o/.config/mosaic' };

describe('statuslineRates', () => {
  it('maps five_hour to primary (300 min) and seven_day to secondary (10 080 min)', () => {
    const r = statuslineRates(
      doc({ five_hour: { used_percentage: 0.4 * 100, resets_at: 1_800_000_000 }, seven_day: { used_percentage: 5, resets_at: 1_800_500_000 } }),
      123,
    );
    expect(r).toEqual({
      at: 123,
      windows: [
        { window: 'primary', usedPercent: 40, windowMinutes: 300, resetsAt: 1_800_000_000 },
        { window: 'secondary', usedPercent: 5, windowMinutes: 10_080, resetsAt: 1_800_500_000 },
      ],
    });
  });

  it('an API-key session (no rate_limits), bad values and unknown windows give null or are dropped', () => {
    expect(statuslineRates({ model: { id: 'x' } }, 1)).toBeNull();
    expect(statuslineRates('not an object', 1)).toBeNull();
    expect(
      statuslineRates(doc({ five_hour: { used_percentage: 'x' }, seven_day: { used_percentage: -1 }, seven_day_opus: { used_percentage: 9 } }), 1),
    ).toBeNull();
    const r = statuslineRates(doc({ seven_day: { used_percentage: 12.345, resets_at: 'soon' }, five_hour: null }), 1);
    expect(r?.windows).toEqual([{ window: 'secondary', usedPercent: 12.35, windowMinutes: 10_080, resetsAt: null }]);
  });

  it('a reset in milliseconds is scaled to seconds', () => {
    expect(statuslineRates(doc({ five_hour: { used_percentage: 1, resets_at: 1_800_000_000_000 } }), 1)?.windows[0]?.resetsAt).toBe(1_800_000_000);
  });

  it('the printed line names the model and the windows, on one line', () => {
    const value = doc({ five_hour: { used_percentage: 41.6, resets_at: 1 }, seven_day: { used_percentage: 5, resets_at: 2 } });
    expect(statuslineText(value, statuslineRates(value, 1))).toBe('Opus 4.8 · 5h 42% · 7d 5%');
    expect(statuslineText({ model: { id: 'a\nb' } }, null)).toBe('a^Jb');
  });
});

describe('quota file', () => {
  it('round-trips owner-only, and a bad or foreign file reads as no report', () => {
    const run = tmp();
    const report = { at: 5, windows: [{ window: 'primary' as const, usedPercent: 40, windowMinutes: 300, resetsAt: 99 }] };
    recordQuota(run, 'cc1', report);
    expect(fs.statSync(quotaPath(run, 'cc1')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(run, 'spend')).mode & 0o777).toBe(0o700);
    expect(readQuota(run, 'cc1')?.report).toEqual(report);
    expect(readQuota(run, 'nobody')).toBeNull();
    expect(parseQuotaFile('{')).toBeNull();
    expect(parseQuotaFile(JSON.stringify({ v: 2, at: 1, windows: report.windows }))).toBeNull();
    expect(parseQuotaFile(JSON.stringify({ v: 1, at: 1, windows: [{ window: 'tertiary', usedPercent: 1 }] }))).toBeNull();
  });

  it('a file over the read bound is no report (never loaded whole)', () => {
    const run = tmp();
    fs.mkdirSync(path.join(run, 'spend'));
    fs.writeFileSync(quotaPath(run, 'big'), `{"v":1,"at":1,"windows":[],"pad":"${'x'.repeat(64 * 1024)}"}`);
    expect(readQuota(run, 'big')?.report ?? null).toBeNull();
  });
});

describe('statusline-hook', () => {
  it('records the windows for the named agent and prints the line; bad input is a problem, never a throw', async () => {
    const home = tmp();
    const text = JSON.stringify(doc({ five_hour: { used_percentage: 40, resets_at: 1_800_000_000 } }));
    const r = await runStatuslineHook('cc1', { text, size: text.length }, home, 7);
    expect(r).toEqual({ line: 'Opus 4.8 · 5h 40%', problem: null });
    const run = path.join(home, 'fleet', 'run');
    expect(readQuota(run, 'cc1')?.report?.windows).toHaveLength(1);
    expect((await runStatuslineHook('cc1', { text: 'nope', size: 4 }, home)).problem).toMatch(/not JSON/);
    expect((await runStatuslineHook('bad name!', { text, size: text.length }, home)).problem).toMatch(/not valid/);
  });
});

describe('statusLine merge', () => {
  const command = statuslineCommand(target);
  it('adds ours where there is none, updates ours, keeps the operator’s', () => {
    const none: Record<string, unknown> = {};
    expect(mergeStatusLine(none, command)).toBe('added statusLine');
    expect(none.statusLine).toEqual({ type: 'command', command, padding: 0 });
    expect(mergeStatusLine(none, command)).toBeNull();
    const optOut: Record<string, unknown> = {};
    expect(mergeStatusLine(optOut, command, false)).toBeNull();
    expect(optOut.statusLine).toBeUndefined();
    const old: Record<string, unknown> = { statusLine: { type: 'command', command: statuslineCommand({ ...target, bin: '/old/bin' }) } };
    expect(statusLineState(old, command)).toBe('outdated');
    expect(mergeStatusLine(old, command, false)).toBe('updated statusLine');
    const theirs = { statusLine: { type: 'command', command: '~/bin/my-line.sh' } };
    expect(mergeStatusLine(theirs, command)).toBeNull();
    expect(theirs.statusLine.command).toBe('~/bin/my-line.sh');
    expect(statusLineDetail(JSON.stringify(theirs), command)).toMatch(/operator's \(kept\)/);
    expect(statusLineDetail(null, command)).toMatch(/no statusLine/);
  });
});

describe('meter quota rows', () => {
  it("a Claude agent's recorded windows become quota rows with pace; other runtimes' files are not read", () => {
    const run = tmp();
    const now = Date.UTC(2026, 11, 6, 12);
    const s = Math.floor(now / 1000);
    recordQuota(run, 'cc1', {
      at: now,
      windows: [
        { window: 'primary', usedPercent: 40, windowMinutes: 300, resetsAt: s + 250 * 60 },
        { window: 'secondary', usedPercent: 5, windowMinutes: 10_080, resetsAt: s + 6 * 86_400 },
      ],
    });
    recordQuota(run, 'cx1', { at: now, windows: [{ window: 'primary', usedPercent: 99, windowMinutes: 300, resetsAt: s + 60 }] });
    const meter = new SpendMeter(run, path.join(run, 'prices.yaml'), { cache: false });
    const agents = [
      { name: 'cc1', runtime: 'claude', panePid: null },
      { name: 'cx1', runtime: 'codex', panePid: null },
    ];
    const files = meter.refresh(agents, { now, since: 0, tree: null });
    const rows = quotaRows(files, now);
    expect(rows.map((q) => [q.agent, q.runtime, q.window, q.usedPercent, q.elapsedPercent, q.projectedPercentAtReset, q.pace])).toEqual([
      ['cc1', 'claude', 'primary', 40, 16.7, 240, 'over'],
      ['cc1', 'claude', 'secondary', 5, 14.3, 35, 'under'],
    ]);
    expect(meter.refresh(agents, { now, since: 0, tree: null }).filter((f) => f.rate)).toHaveLength(1);
  });
});
