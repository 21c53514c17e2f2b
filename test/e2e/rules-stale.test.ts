/**
 * A fake "future" Claude Code (package.json version 9.9.9, a renamed footer on its screen) in a
 * real tmux pane: the real program reads the version off the live process, `--once --json`
 * raises RULES-STALE naming the version (and validates against the schema), `doctor` reports
 * the version, the rules range that matched, the hooks and the fallback, and exits 1; a send is
 * refused naming the rules and the version when the screen is unreadable. Needs a build
 * (`npx tsc -p .`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import { liveRuntimeVersion } from '../../src/actions/send.js';
import type { Snapshot } from '../../src/snapshot/types.js';

const RULE = '─'.repeat(80);

/**
 * Writes a fake runtime package `<root>/node_modules/@anthropic-ai/claude-code` at `version`
 * whose bin `claude` (a node script: its comm is `claude`, as the real one's) draws `lines` and
 * sleeps. Returns the bin's path.
 */
function fakeClaude(root: string, version: string, lines: string[]): string {
  const pkg = path.join(root, 'node_modules', '@anthropic-ai', 'claude-code');
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@anthropic-ai/claude-code', version }));
  const bin = path.join(pkg, 'bin', 'claude');
  fs.writeFileSync(bin, `#!${process.execPath}\nprocess.stdout.write(${JSON.stringify(lines.join('\r\n'))});\nsetInterval(() => {}, 1 << 30);\n`, {
    mode: 0o755,
  });
  return bin;
}

describe('RULES-STALE on a fake future Claude Code 9.9.9 (real program, real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let root: string;
  let cacheHome: string;
  const run = (args: string[]): Promise<BinResult> =>
    runBin(['--mosaic-home', home, ...args], { ...process.env, MOSAIC_HOME: '', XDG_CACHE_HOME: cacheHome, MT_SYSTEMCTL_MODE: 'nobus' });

  beforeAll(async () => {
    tmux = await startIsolatedTmux('stale');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-stale-'));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-stale-rt-'));
    cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-stale-cache-'));
    // Idle with a footer no rules know: the input box's structure still reads it.
    const idle = fakeClaude(path.join(root, 'a'), '9.9.9', ['Claude Code v9.9.9', '', RULE, '❯ ', RULE, '  ⏵⏵⏵ autopilot engaged (ctrl+y to land)']);
    // A screen the rules cannot read at all.
    const odd = fakeClaude(path.join(root, 'b'), '9.9.9', ['Claude Code v9.9.9', '', '  ╭ new input ╮', '  ▸', '  autopilot engaged']);
    writeHomeRoster(home, tmux.socket, [
      { name: 'cc9', runtime: 'claude' },
      { name: 'cc9b', runtime: 'claude' },
    ]);
    await tmux.newSession('cc9', [idle], { width: 100, height: 20 });
    await tmux.newSession('cc9b', [odd], { width: 100, height: 20 });
    await waitFor(async () => (await tmux.capture('=cc9:0.0')).includes('autopilot engaged'), 'the fake runtime drew its screen', { timeoutMs: 15_000 });
    await waitFor(async () => (await tmux.capture('=cc9b:0.0')).includes('autopilot engaged'), 'the second fake drew its screen', { timeoutMs: 15_000 });
  });
  afterAll(async () => {
    await tmux?.stop();
    for (const d of [home, root, cacheHome]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('--once --json: RULES-STALE with the version; the renamed footer still reads idle', async () => {
    const r = await run(['--once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const snap = JSON.parse(r.stdout) as Snapshot;
    const validate = snapshotValidator();
    expect(validate(snap), JSON.stringify(validate.errors)).toBe(true);
    const cc9 = snap.agents.find((a) => a.name === 'cc9')!;
    expect(cc9.screen).toMatchObject({ state: 'idle', version: '9.9.9', rules: 'claude@>=2.1.198' });
    expect(cc9.flags).toContain('RULES-STALE');
    expect(cc9.flags).not.toContain('DRIFT');
    expect(cc9.evidence).toContain('RULES-STALE: claude 9.9.9 is newer than 2.1.332, the newest the rules claude@>=2.1.198 were proven on');
    expect(cc9.evidence[0]).toBe('screen: idle at the input line [claude@>=2.1.198; claude 9.9.9]');
    const cc9b = snap.agents.find((a) => a.name === 'cc9b')!;
    expect(cc9b.screen).toMatchObject({ state: 'unknown', version: '9.9.9', unrecognised: 'autopilot engaged' });
    expect(cc9b.evidence.find((e) => e.startsWith('RULES-STALE'))).toMatch(/claude 9\.9\.9 is newer than 2\.1\.332.*; not recognised: autopilot engaged$/);
  });

  it('doctor: version, rules range, proven version, hooks, fallback and RULES-STALE; exit 1', async () => {
    const r = await run(['doctor']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('cc9 (claude): claude 9.9.9 · rules claude@>=2.1.198 (proven on claude 2.1.332) · hooks not wired (no file)');
    expect(r.stdout).toContain('  readiness from: screen rules only (no hooks wired); the screen rules may be stale · screen idle');
    expect(r.stdout).toContain('  RULES-STALE: claude 9.9.9 is newer than 2.1.332, the newest the rules claude@>=2.1.198 were proven on');
    const j = await run(['doctor', 'cc9b', '--json']);
    const rows = (JSON.parse(j.stdout) as { agents: Record<string, unknown>[] }).agents;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ agent: 'cc9b', runtime: 'claude', version: '9.9.9', rules: 'claude@>=2.1.198', proven: '2.1.332', screen: 'unknown' });
  });

  it('a send into the unreadable screen is refused naming the rules and the version; nothing typed', async () => {
    const pid = Number((await tmux.ok(['display-message', '-p', '-t', '=cc9b:0.0', '#{pane_pid}'])).trim());
    expect(liveRuntimeVersion(pid, 'claude')).toBe('9.9.9');
    const before = await tmux.capture('=cc9b:0.0');
    const r = await run(['send', 'cc9b', 'hello there']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/screen rules claude@>=2\.1\.198 read nothing they know on claude 9\.9\.9, last line 'autopilot engaged'/);
    expect(await tmux.capture('=cc9b:0.0')).toBe(before);
  });
});
