/**
 * `answer` types only into the agent's runtime and only onto the prompt shown, on real tmux
 * (isolated socket), through the real `answerPrompt` (the code behind the CLI and the console):
 * - panes that SHOW a prompt's text but do not run the runtime — a bash script printing
 *   Claude Code's prompt, an interactive shell after `cat` of a prompt file, a script printing
 *   Codex's prompt — are refused (DRIFT), nothing typed (their input log stays empty), and the
 *   snapshot does not call them `waiting`;
 * - a pane that redraws between two prompts (A: `echo hi > proto.txt`, B: `rm -rf ~/important`)
 *   every 40 ms and every 5 ms, run as `claude` so the process check passes: 200 answers to A's
 *   id each ⇒ 0 keys delivered while B was shown (the flipper logs what it showed when each key
 *   arrived), and every key it got is one receipt's;
 * - the server-side guard alone (fleet/prompt-guard.ts): a guard for A does not send onto B,
 *   a guard for B does, exactly one key.
 * Needs nothing built (in-process).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerPrompt, type AnswerReceipt } from '../../src/actions/answer.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { capturePaneScreen, screenGuard, sendKeyIfScreen } from '../../fleet/prompt-guard.js';
import { classifyScreen } from '../../fleet/screen.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { ScreenReader } from '../../fleet/screen-probe.js';
import { fakeRuntime } from '../helpers/fake-runtime.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures', 'screens');
const CLAUDE_PROMPT = fs.readFileSync(path.join(FIXTURES, 'claude-permission.txt'), 'utf8').replace(/\s+$/, '');
const CODEX_PROMPT = fs.readFileSync(path.join(FIXTURES, 'codex-permission.txt'), 'utf8').replace(/\s+$/, '');
const B_PROMPT = CLAUDE_PROMPT.replaceAll('echo hi > proto.txt', 'rm -rf ~/important');

/** bash: print `file` once, then log every key read to `log` (one byte per key, raw). */
const showThenLog = (file: string, log: string) => `cat '${file}'; while IFS= read -rsn1 k; do printf '%s\\n' "$k" >> '${log}'; done`;

describe('answer refuses panes that do not run the runtime (real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;
  const file = (name: string, text: string) => {
    const p = path.join(home, name);
    fs.writeFileSync(p, `${text}\n`);
    return p;
  };
  const waitShown = (agent: string, runtime: string) =>
    waitFor(async () => classifyScreen(runtime, null, await tmux.capture(agent)).prompt ?? null, `${agent} shows a prompt`, { timeoutMs: 10_000 });
  const answer = (agent: string, runtime: string) =>
    answerPrompt({ agent, runtime, answer: 'allow', socket: tmux.socket, runDir: paths.runDir, paths, timeoutMs: 1000 });

  beforeAll(async () => {
    tmux = await startIsolatedTmux('answer-guard');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-answer-guard-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    writeHomeRoster(home, tmux.socket, [
      { name: 'script', runtime: 'claude' },
      { name: 'shell', runtime: 'claude' },
      { name: 'cdx', runtime: 'codex' },
    ]);
  });
  afterAll(async () => {
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("a bash script printing Claude's prompt, and one printing Codex's: refused (DRIFT), nothing typed, not waiting in the snapshot", async () => {
    const logs = { script: path.join(home, 'script.keys'), cdx: path.join(home, 'cdx.keys') };
    await tmux.newSession('script', ['bash', '-c', showThenLog(file('claude.txt', CLAUDE_PROMPT), logs.script)], { width: 120, height: 40 });
    await tmux.newSession('cdx', ['bash', '-c', showThenLog(file('codex.txt', CODEX_PROMPT), logs.cdx)], { width: 120, height: 40 });
    await waitShown('script', 'claude');
    await waitShown('cdx', 'codex');
    for (const [agent, runtime] of [
      ['script', 'claude'],
      ['cdx', 'codex'],
    ] as const) {
      const r = await answer(agent, runtime);
      expect(r, JSON.stringify(r)).toMatchObject({ status: 'refused', key: null, process: { expected: runtime } });
      expect(r.reason).toMatch(new RegExp(`^${agent}'s pane does not run its runtime \\(DRIFT: expected ${runtime}, pane runs bash\\b.*; nothing typed$`));
      // The pane reads keys: any key typed would be in its log.
      expect(fs.existsSync(logs[agent]) ? fs.readFileSync(logs[agent], 'utf8') : '').toBe('');
    }
    const snap = await collectSnapshot({ paths, includeBacklog: false, screenReader: new ScreenReader() });
    for (const name of ['script', 'cdx']) {
      const row = snap.agents.find((a) => a.name === name)!;
      expect(row.readiness).not.toBe('waiting');
      expect(row.flags).toContain('DRIFT');
      expect(row.evidence.join(' | ')).toMatch(/screen: not read \(the pane runs bash.*screen rules read their runtime only\)/);
    }
  });

  it("an interactive shell after `cat` of Claude's prompt: refused, its input line stays empty", async () => {
    await tmux.newSession('shell', ['env', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i'], { width: 120, height: 40 });
    await waitFor(async () => ((await tmux.capture('shell')).includes('$') ? true : null), 'shell prompt');
    await tmux.ok(['send-keys', '-t', '=shell:0.0', '-l', `clear; cat '${file('shell.txt', CLAUDE_PROMPT)}'`]);
    await tmux.ok(['send-keys', '-t', '=shell:0.0', 'Enter']);
    await waitShown('shell', 'claude');
    const r = await answer('shell', 'claude');
    expect(r).toMatchObject({ status: 'refused', key: null });
    expect(r.reason).toMatch(/^shell's pane does not run its runtime \(DRIFT: expected claude, pane runs bash\b/);
    // Nothing typed: the shell's input line is its bare prompt, the cursor right after it.
    const last = (await tmux.capture('shell')).replace(/\s+$/, '').split('\n').at(-1);
    expect(last).toBe('$');
    expect((await tmux.ok(['display-message', '-p', '-t', '=shell:0.0', '#{cursor_x}'])).trim()).toBe('2');
  });
});

/**
 * A `claude` (node) that redraws between prompt A and prompt B every `periodMs`, forever, and
 * logs each key it reads with the prompt it was showing when the key arrived (`A 1` / `B 1`).
 */
function flipperScript(a: string, b: string, log: string, periodMs: number): string {
  return `
const fs = require('node:fs');
const screens = { A: fs.readFileSync(${JSON.stringify(a)}, 'utf8'), B: fs.readFileSync(${JSON.stringify(b)}, 'utf8') };
let shown = 'A';
const draw = () => process.stdout.write('\\x1b[H\\x1b[2J' + screens[shown]);
draw();
setInterval(() => { shown = shown === 'A' ? 'B' : 'A'; draw(); }, ${periodMs});
process.stdin.setRawMode(true);
process.stdin.on('data', (d) => { for (const ch of d.toString('latin1')) fs.appendFileSync(${JSON.stringify(log)}, shown + ' ' + ch + '\\n'); });
`;
}

describe('answer onto a pane flipping between two prompts (real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let runDir: string;
  let promptA: string;
  let promptB: string;

  beforeAll(async () => {
    tmux = await startIsolatedTmux('answer-flip');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-answer-flip-'));
    runDir = path.join(home, 'run');
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(home, 'a.txt'), CLAUDE_PROMPT);
    fs.writeFileSync(path.join(home, 'b.txt'), B_PROMPT);
    const idOf = (text: string) => classifyScreen('claude', null, text).prompt!.id;
    promptA = idOf(CLAUDE_PROMPT);
    promptB = idOf(B_PROMPT);
    expect(promptA).not.toBe(promptB);
  });
  afterAll(async () => {
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  for (const [label, periodMs] of [
    ['40 ms', 40],
    ['5 ms', 5],
  ] as const) {
    it(`every ${label}: 200 answers to A's id ⇒ 0 keys delivered while B was shown`, { timeout: 180_000 }, async () => {
      const agent = `flip${label.replace(/\D/g, '')}`;
      const log = path.join(home, `${agent}.keys`);
      const program = fakeRuntime(home, 'claude', flipperScript(path.join(home, 'a.txt'), path.join(home, 'b.txt'), log, periodMs), '/usr/bin/env node');
      await tmux.newSession(agent, [program], { width: 120, height: 40 });
      // Both prompts are drawn (the flipper runs).
      const seen = new Set<string>();
      await waitFor(
        async () => {
          const id = classifyScreen('claude', null, await tmux.capture(agent)).prompt?.id;
          if (id) seen.add(id);
          return seen.has(promptA) && seen.has(promptB) ? true : null;
        },
        `${agent} shows A and B`,
        { timeoutMs: 10_000, intervalMs: 3 },
      );
      const receipts: AnswerReceipt[] = [];
      for (let i = 0; i < 200; i++) {
        receipts.push(await answerPrompt({ agent, runtime: 'claude', answer: 'allow', promptId: promptA, socket: tmux.socket, runDir, timeoutMs: 300 }));
      }
      const answered = receipts.filter((r) => r.status !== 'refused');
      // Keys still in flight reach the flipper within its next read.
      await waitFor(
        () => ((fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) >= answered.length ? true : null),
        'keys logged',
        {
          timeoutMs: 5000,
        },
      );
      const keys = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      expect(keys.filter((k) => k.startsWith('B '))).toEqual([]);
      // Every key the flipper got is one receipt's, and no receipt claims a key that did not arrive.
      expect(keys.length).toBe(answered.length);
      expect(receipts.length).toBe(200);
      for (const r of receipts.filter((x) => x.status === 'refused')) {
        expect(r.key).toBeNull();
        expect(r.reason).toMatch(/another prompt|not waiting on a prompt|did not hold still|the prompt closed|the guard did not hold/);
      }
      // The process check passed: these refusals are about the prompt, never DRIFT.
      expect(receipts.some((r) => /DRIFT/.test(r.reason ?? ''))).toBe(false);
      await tmux.killSession(agent);
    });
  }

  it('the server-side guard alone: a guard for A never sends onto B; a guard for B sends exactly one key', async () => {
    const log = path.join(home, 'guard.keys');
    const flag = path.join(home, 'show-b');
    // Shows A until `flag` exists, then B, and logs every key with what it shows.
    const script = [
      `printf '\\033[H\\033[2J%s' "$(cat '${path.join(home, 'a.txt')}')"`,
      `while [ ! -e '${flag}' ]; do sleep 0.02; done`,
      `printf '\\033[H\\033[2J%s' "$(cat '${path.join(home, 'b.txt')}')"`,
      `while IFS= read -rsn1 k; do printf 'B %s\\n' "$k" >> '${log}'; done`,
    ].join('\n');
    await tmux.newSession('guard', [fakeRuntime(home, 'claude', script)], { width: 120, height: 40 });
    const paneId = (await tmux.ok(['display-message', '-p', '-t', '=guard:0.0', '#{pane_id}'])).trim();
    const onA = await waitFor(async () => {
      const s = await capturePaneScreen(tmux.socket, paneId);
      return classifyScreen('claude', null, s.rows.join('\n')).prompt?.id === promptA ? s : null;
    }, 'A shown');
    fs.writeFileSync(flag, '');
    const onB = await waitFor(async () => {
      const s = await capturePaneScreen(tmux.socket, paneId);
      return classifyScreen('claude', null, s.rows.join('\n')).prompt?.id === promptB ? s : null;
    }, 'B shown');
    const guardA = screenGuard(onA, 0);
    const held = await sendKeyIfScreen(tmux.socket, paneId, '1', guardA);
    expect(held.sent).toBe(false);
    expect(classifyScreen('claude', null, held.before.rows.join('\n')).prompt?.id).toBe(promptB);
    const sent = await sendKeyIfScreen(tmux.socket, paneId, '1', screenGuard(onB, 0));
    expect(sent.sent).toBe(true);
    // The shell's `>>` creates the file before its printf writes the line: wait for a whole line.
    const logged = await waitFor(() => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      return text.endsWith('\n') ? text : null;
    }, 'the key logged');
    expect(logged).toBe('B 1\n');
  });
});
