/**
 * `mosaic-top answer` end to end — run in this process (test/helpers/cli.ts), and
 * over ssh through bin/mosaic-top — on a real isolated tmux server, against a pane that SHOWS
 * Claude Code's permission prompt (the exact measured text, test/runtimes/SCREENS.md) and then
 * reads ONE key and prints what it got: proves exactly one key per answer (`1` for allow
 * once, Escape for deny), the prompt-id check, the refusals (not waiting, stale id,
 * --readonly, unknown agent, bad answer) with nothing typed, and the exit codes; and the same
 * over ssh for an agent of another host (a real sshd on 127.0.0.1), refused when the host
 * cannot be reached or the remote pane's process is not the runtime. The panes run as
 * `claude` (test/helpers/fake-runtime.ts): answer types only into the runtime. The real
 * runtimes are in test/runtimes/answer.test.ts. Needs `npx tsc -p .` first (bin runs dist/).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { classifyScreen } from '../../fleet/screen.js';
import { sshdUnavailableReason, startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { fakeRuntime } from '../helpers/fake-runtime.js';
import type { AnswerReceipt } from '../../src/actions/answer.js';
import { readJson } from '../helpers/json.js';
import { realPartAvailable } from '../helpers/real-parts.js';

const hasSshd = realPartAvailable('sshd (the remote answer)', sshdUnavailableReason(), 'answer-cli.test.ts');

const RULE = '─'.repeat(60);
/** A pane that shows a Claude prompt for `command`, reads one key, prints it, then shows Claude's idle box. */
function promptScript(command: string): string {
  const prompt = [
    ' Bash command',
    `   ${command}`,
    '   Run the command',
    ' Do you want to proceed?',
    ' ❯ 1. Yes',
    '   2. Yes, and always allow access to work/ from this project',
    '   3. No',
    ' Esc to cancel · Tab to amend',
  ];
  const idle = [RULE, '❯ ', RULE, '  ? for shortcuts'];
  const lines = (ls: string[]) => ls.map((l) => `printf '%s\\n' '${l}'`).join('; ');
  return `clear; ${lines(prompt)}; IFS= read -rsn1 k; clear; printf 'GOT:[%s]\\n' "$(printf '%s' "$k" | od -An -c | tr -s ' ')"; ${lines(idle)}; sleep 600`;
}

describe('mosaic-top answer (CLI) on a pane showing a Claude permission prompt', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let env: NodeJS.ProcessEnv;
  // The command's shape (output, exit code, keys typed) run in this process (test/helpers/cli.ts);
  // the ssh describe below runs the executable.
  const cli = (args: string[]) => runCliInProcess([...args, '--mosaic-home', home], env);
  const open = async (command: string) => {
    await tmux.ok(['kill-session', '-t', '=cc1']).catch(() => {});
    await tmux.newSession('cc1', [fakeRuntime(home, 'claude', promptScript(command))], { width: 100, height: 30 });
    return waitFor(async () => classifyScreen('claude', null, await tmux.capture('cc1')).prompt ?? null, `prompt for ${command} shown`, {
      timeoutMs: 10_000,
    });
  };

  beforeAll(async () => {
    if (!fs.existsSync(path.join(import.meta.dirname, '..', '..', 'dist', 'src', 'actions', 'answer.js')))
      throw new Error('dist/ missing or stale: run `npx tsc -p .` first');
    tmux = await startIsolatedTmux('answer-cli');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-answer-cli-'));
    env = { ...process.env };
    delete env.DATABASE_URL;
    writeHomeRoster(home, tmux.socket, [{ name: 'cc1', runtime: 'claude', class: 'coder' }]);
  });
  afterAll(async () => {
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('allow with the shown id: exactly the key 1, receipt answered naming the prompt, exit 0', async () => {
    const p = await open('echo hi > proto.txt');
    const r = await cli(['answer', 'cc1', 'allow', '--prompt-id', p.id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const receipt = readJson<AnswerReceipt>(r.stdout);
    expect(receipt).toMatchObject({
      status: 'answered',
      agent: 'cc1',
      answer: 'allow',
      key: '1',
      prompt: { id: p.id, tool: 'Bash', detail: 'echo hi > proto.txt' },
      promptBefore: p.id,
      process: { expected: 'claude' },
    });
    expect(receipt.evidence.join(' | ')).toMatch(/the prompt closed.*then the idle input line/);
    expect(await tmux.capture('cc1')).toMatch(/GOT:\[ 1\]/);
  });

  it('deny without --prompt-id: exactly Escape, receipt answered, text output names the prompt', async () => {
    const p = await open('echo two > two.txt');
    const r = await cli(['answer', 'cc1', 'deny']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^answered deny \\(key Escape\\) to cc1 in \\d+ ms, permission prompt Bash echo two > two\\.txt \\[id ${p.id}\\]`));
    // The receipt says which prompt was on screen just before the key (tmux's view as it sent it) and just after.
    expect(r.stdout).toMatch(
      new RegExp(`\\n  - key Escape \\(deny\\) sent to .*; on screen just before: \\[id ${p.id}\\], just after: (\\[id ${p.id}\\]|no prompt)\\n`),
    );
    expect(await tmux.capture('cc1')).toMatch(/GOT:\[ 033\]/);
  });

  it('a stale id, not waiting, --readonly: refused, exit 3, nothing typed (the pane still waits for its key)', async () => {
    const old = await open('echo one > one.txt');
    const now = await open('echo two > two.txt');
    expect(now.id).not.toBe(old.id);
    const stale = await cli(['answer', 'cc1', 'allow', '--prompt-id', old.id, '--json']);
    expect(stale.code).toBe(3);
    expect(JSON.parse(stale.stdout)).toMatchObject({ status: 'refused', key: null, prompt: { id: now.id, detail: 'echo two > two.txt' } });
    expect(readJson<AnswerReceipt>(stale.stdout).reason).toMatch(/another prompt is on screen now: .*echo two > two\.txt.*nothing typed/);
    const ro = await cli(['answer', 'cc1', 'allow', '--readonly', '--json']);
    expect(ro.code).toBe(3);
    expect(readJson<AnswerReceipt>(ro.stdout).reason).toMatch(/read-only/);
    expect(await tmux.capture('cc1')).not.toMatch(/GOT:/);
    expect(classifyScreen('claude', null, await tmux.capture('cc1')).prompt?.id).toBe(now.id);
    // Answer it, then the agent is no longer waiting: refused.
    expect((await cli(['answer', 'cc1', 'deny'])).code).toBe(0);
    const idle = await cli(['answer', 'cc1', 'allow', '--json']);
    expect(idle.code).toBe(3);
    expect(readJson<AnswerReceipt>(idle.stdout).reason).toMatch(/not waiting on a prompt \(no prompt: the screen reads idle\); nothing typed/);
  });

  it('bad answer: exit 2; unknown agent: exit 3 with the known agents', async () => {
    const bad = await cli(['answer', 'cc1', 'always']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/answer must be "allow" \(once\) or "deny"/);
    const unknown = await cli(['answer', 'nope', 'allow']);
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toMatch(/unknown agent "nope".*known agents: cc1/);
  });
});

describe.runIf(hasSshd)('mosaic-top answer over ssh (an agent of another host)', () => {
  let tmux: IsolatedTmux;
  let sshd: TestSshd;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runBin([...args, '--mosaic-home', home], env, 120_000);

  beforeAll(async () => {
    tmux = await startIsolatedTmux('answer-remote');
    sshd = await startTestSshd({});
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-answer-remote-'));
    env = sshd.env({ ...process.env });
    delete env.DATABASE_URL;
    writeHomeRoster(home, tmux.socket, [
      { name: 'far', runtime: 'claude', host: 'mt-remote', ssh: 'mt-remote' },
      { name: 'farsh', runtime: 'claude', host: 'mt-remote', ssh: 'mt-remote' },
      { name: 'gone', runtime: 'claude', host: 'mt-remote-closed', ssh: 'mt-remote-closed' },
    ]);
    await tmux.newSession('far', [fakeRuntime(home, 'claude', promptScript('echo far > far.txt'))], { width: 100, height: 30 });
    // A REMOTE bash script that prints Claude's prompt: not the runtime.
    await tmux.newSession('farsh', ['bash', '-c', promptScript('echo far > far.txt')], { width: 100, height: 30 });
  });
  afterAll(async () => {
    await sshd?.stop(home ? [path.join(home, 'fleet', 'run')] : []);
    await tmux?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('the remote screen is read and the key sent over ssh: answered, exactly the key 1', async () => {
    const p = await waitFor(async () => classifyScreen('claude', null, await tmux.capture('far')).prompt ?? null, 'remote prompt shown', {
      timeoutMs: 10_000,
    });
    const r = await cli(['answer', 'far', 'allow', '--prompt-id', p.id, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'answered', key: '1', prompt: { id: p.id, detail: 'echo far > far.txt' } });
    expect(await tmux.capture('far')).toMatch(/GOT:\[ 1\]/);
  });

  it("a remote bash script printing Claude's prompt: refused (the remote process is not the runtime), nothing typed", async () => {
    await waitFor(async () => classifyScreen('claude', null, await tmux.capture('farsh')).prompt ?? null, 'remote prompt text shown', {
      timeoutMs: 10_000,
    });
    const r = await cli(['answer', 'farsh', 'allow', '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(3);
    const receipt = readJson<AnswerReceipt>(r.stdout);
    expect(receipt).toMatchObject({ status: 'refused', key: null, process: { expected: 'claude' } });
    expect(receipt.reason).toMatch(/^farsh's pane does not run its runtime \(DRIFT: expected claude, pane runs bash\b.*; nothing typed$/);
    expect(await tmux.capture('farsh')).not.toMatch(/GOT:/);
  });

  it('a host that cannot be reached: refused, exit 3, with the ssh reason', async () => {
    const r = await cli(['answer', 'gone', 'allow', '--json']);
    expect(r.code).toBe(3);
    const receipt = readJson<AnswerReceipt>(r.stdout);
    expect(receipt).toMatchObject({ status: 'refused', key: null });
    expect(receipt.reason).toMatch(/mt-remote-closed|Connection refused|ssh/i);
    expect(receipt.reason).toMatch(/nothing typed/);
  });
});
