/**
 * Faults: an operator's `<home>/fleet/screen-rules.yaml` against the REAL program on a real
 * isolated tmux server. Catastrophic-backtracking patterns (`idle: ['^(a+)+$']`, `anchor:
 * '(\w|a)*\d$'`) over a pane full of `aaaa…!` lines: `--once` returns and the console draws and
 * quits on q (override patterns are matched by RE2, in linear time); a pattern RE2 cannot match
 * in linear time (a backreference) is refused with file:line and the shipped rules stay; and
 * `answer` reads the prompt with the same (override) rules as the snapshot: the id the snapshot
 * showed is accepted and the override's `answer:` key is the one pressed. Needs a build.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenRulesOverridePath } from '../../fleet/screen-rules-file.js';
import { fakeRuntime } from '../helpers/fake-runtime.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { expectQuitsOn, freshHome, runBounded, startConsole, untilScreen } from './harness.js';
import { readJson } from '../helpers/json.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import type { AnswerReceipt } from '../../src/actions/answer.js';

/** 40 `a`s then `!`: a backtracking engine tries 2^40 ways to match `^(a+)+$` or `(\w|a)*\d$` on it. */
const EVIL_LINE = `${'a'.repeat(40)}!`;
const EVIL_RULES = [
  'version: 1',
  'runtimes:',
  '  - runtime: claude',
  "    idle: ['^(a+)+$']",
  "    busy: ['^(a|aa)+$']",
  '    prompts:',
  '      - kind: permission',
  "        anchor: '(\\w|a)*\\d$'",
  '',
].join('\n');

describe('faults: screen-rules override (real program, real tmux)', () => {
  let tmux: IsolatedTmux;
  let ui: IsolatedTmux;
  const homes: string[] = [];
  let rtDir = '';
  beforeAll(async () => {
    tmux = await startIsolatedTmux('fault-rules');
    ui = await startIsolatedTmux('fault-rules-ui');
    // A pane whose every bottom line is the evil subject.
    // The pane runs a program named `claude` (screens are read only where the runtime runs).
    rtDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fault-rt-'));
    await tmux.newSession('cc1', [fakeRuntime(rtDir, 'claude', `for i in 1 2 3 4 5 6 7 8 9 10; do echo '${EVIL_LINE}'; done; read -r x`)], {
      width: 100,
      height: 30,
    });
  });
  afterAll(async () => {
    await ui?.stop();
    await tmux?.stop();
    if (rtDir) fs.rmSync(rtDir, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = (rules: string) => {
    const h = freshHome('mt-fault-rules-');
    homes.push(h.home);
    writeHomeRoster(h.home, tmux.socket, [{ name: 'cc1', runtime: 'claude', class: 'coder' }]);
    const file = screenRulesOverridePath(h.home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, rules);
    return { ...h, file };
  };

  it('catastrophic override patterns: --once returns with the override in use', async () => {
    const { home: h, env } = home(EVIL_RULES);
    const r = await runBounded(['--mosaic-home', h, '--once', '--json'], env, 20_000);
    expect(r.killed, `--once did not return; stderr: ${r.stderr}`).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const row = readJson<Snapshot>(r.stdout).agents.find((a) => a.name === 'cc1');
    // Nothing matched (the subject ends in `!`), read with the override's rules.
    expect(row?.screen).toMatchObject({ state: 'unknown', rules: 'claude (override)' });
  });

  it('catastrophic override patterns: the console draws the agent and quits on q', async () => {
    const { home: h } = home(EVIL_RULES);
    await startConsole(ui, 'evil', h);
    await untilScreen(ui, 'evil', (s) => s.includes('cc1') && !s.includes('waiting for the first snapshot'), 'the console drew the fleet');
    await expectQuitsOn(ui, 'evil', 'q');
  });

  it('a pattern RE2 cannot match in linear time (backreference) is refused with file:line; the shipped rules stay', async () => {
    const { home: h, env, file } = home(['version: 1', 'runtimes:', '  - runtime: claude', "    idle: ['ok']", "    busy: ['^(a+)\\1$']", ''].join('\n'));
    const r = await runBounded(['--mosaic-home', h, '--once', '--json'], env, 20_000);
    expect(r.killed, r.stderr).toBe(false);
    const snap = readJson<Snapshot>(r.stdout);
    expect(snap.probes.screens?.error).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: runtimes\\[0\\]\\.busy\\[0\\]: .*backreferences.* — the shipped screen rules stay in use$`,
      ),
    );
    expect(snap.agents.find((a) => a.name === 'cc1')?.screen?.rules).toBe('claude@>=2.1.198');
  });

  it("answer reads the prompt with the override's rules: the snapshot's prompt id is accepted and the override's allow key pressed", async () => {
    // A Claude-style prompt; the override reads it from the anchor down (no start line) as tool
    // `Shell`, so its id differs from the shipped rules' reading (tool Bash, from `Bash command`).
    const lines = [' Bash command', '   echo hi', ' Do you want to proceed?', ' ❯ 1. Yes', '   3. No', ' Esc to cancel'];
    const show = lines.map((l) => `printf '%s\\n' '${l}'`).join('; ');
    await tmux.newSession('cc2', [fakeRuntime(rtDir, 'claude', `clear; ${show}; IFS= read -rsn1 k; clear; printf 'GOT:[%s]\\n' "$k"; read -r x`)], {
      width: 100,
      height: 30,
    });
    const rules = [
      'version: 1',
      'runtimes:',
      '  - runtime: claude',
      "    idle: ['\\? for shortcuts']",
      "    busy: ['esc to interrupt']",
      '    prompts:',
      '      - kind: permission',
      "        anchor: '^\\s*Do you want to proceed\\?'",
      "        end: 'Esc to cancel'",
      '        tool: Shell',
      "    answer: { allow: 'y', deny: Escape }",
      '',
    ].join('\n');
    const { home: h, env } = home(rules);
    writeHomeRoster(h, tmux.socket, [{ name: 'cc2', runtime: 'claude', class: 'coder' }]);
    const prompt = await waitFor(
      async () => {
        const r = await runBounded(['--mosaic-home', h, '--once', '--json'], env);
        return readJson<Snapshot>(r.stdout).agents.find((a) => a.name === 'cc2')?.screen?.prompt ?? null;
      },
      'the snapshot shows the prompt',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(prompt).toMatchObject({ tool: 'Shell' });
    const r = await runBounded(['--mosaic-home', h, 'answer', 'cc2', 'allow', '--prompt-id', prompt.id, '--timeout', '1', '--json'], env);
    expect(r.killed, r.stderr).toBe(false);
    const receipt = readJson<AnswerReceipt>(r.stdout);
    expect(receipt, r.stdout).toMatchObject({ status: 'answered', key: 'y', prompt: { id: prompt.id } });
    await waitFor(async () => (await tmux.capture('cc2')).includes('GOT:[y]'), 'the pane got the key y', { timeoutMs: 10_000 });
  });
});
