/**
 * Readiness proven on the REAL Claude Code in a tmux pane, on both version sets
 * (test/runtimes/variants.ts: the pinned 2.1.197, and the newest 2.1.332 in auto mode — its
 * default — and in manual mode): the snapshot the console shows, tick by tick, with a
 * per-poller screen reader; the evidence names the rules AND the version read off the live process —
 * - with hooks wired by `mosaic-top hooks install`: idle ⇒ available; a slow streamed reply ⇒
 *   working; a permission prompt ⇒ waiting within 2 ticks with the tool and command in the
 *   evidence (the screen decides: the Notification hook comes ~6 s late); dismissed with Esc
 *   (no hook fires) ⇒ available; a 429 turn ⇒ stuck + LIMITED; the next good turn clears it;
 * - without hooks (screen rules only): idle, working, waiting — and stuck after a 429;
 * - 2.1.332 auto mode: the scripted command runs unasked (no prompt), the agent is available after;
 * - 2.1.332 with `permissions.defaultMode: "default"` in settings: its startup dialog ⇒ waiting
 *   (`dialog: permission mode …`), a send is refused; chosen ⇒ available.
 * Cells: 2.1.197 with and without hooks; 2.1.332 auto with hooks; 2.1.332 manual without hooks —
 * that pane starts with `permissions.defaultMode: "default"` in its settings, so the startup
 * dialog is proven first and the human's "No, keep manual mode" puts it in manual mode for the
 * cell's other tests (one start for both; `--permission-mode default` on the command line is
 * proven by the receipts and answer tests).
 * One runtime pane alive at a time in this file.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/readiness-claude.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRow, Readiness } from '../../src/snapshot/types.js';
import { runBin } from '../helpers/bin.js';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { sendToAgent } from '../../src/actions/send.js';
import { ERROR_ATTEMPTS, launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { claudeVariants } from './variants.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { watchAgent, type Watched } from './watch.js';

const is = (r: Readiness) => (row: AgentRow) => row.readiness === r;

/** The screen says a prompt is open, then at most two ticks must say waiting. */
async function waitingWithinTwoTicks(w: Watched): Promise<AgentRow> {
  const first = await w.tick();
  return first.readiness === 'waiting' ? first : w.tick();
}

/** The cells: the pinned release with and without hooks; the newest in auto mode with hooks, in manual mode without. */
const CELLS = claudeVariants().flatMap((variant) =>
  (variant.mode === 'default' ? [true, false] : [variant.mode === 'auto']).map((hooks) => ({
    variant,
    hooks,
    label: `${variant.label}, ${hooks ? 'with hooks from `mosaic-top hooks install`' : 'without hooks (screen rules only)'}`,
  })),
);

/** `[claude@…; claude 2.1.332]`: the rules label and the version read from the live process. */
const rulesTag = (version: string) => `\\[claude@[^\\]]+; claude ${version.replace(/\./g, '\\.')}\\]`;

describe.each(CELLS.map((c) => [c.label, c] as const))('real Claude Code %s', (_label, { variant, hooks }) => {
  /** The manual-mode cell: manual mode chosen in the startup dialog that settings ask for. */
  const dialog = variant.mode === 'manual';
  let endpoint: ModelEndpoint;
  let tmux: IsolatedTmux;
  let pane: RuntimePane;
  let home: string;
  let w: Watched;
  let installOut = '';

  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    tmux = await startIsolatedTmux('rt-ready');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-ready-'));
    w = watchAgent('cc1', 'claude', tmux, home);
    pane = await launchRuntime('claude', {
      endpoint,
      tmux,
      session: 'cc1',
      version: variant.version,
      ...(dialog ? { waitForIdle: false } : { args: variant.args }),
      prepare: async (dirs) => {
        if (dialog) {
          fs.mkdirSync(path.join(dirs.home, '.claude'), { recursive: true });
          fs.writeFileSync(path.join(dirs.home, '.claude', 'settings.json'), JSON.stringify({ permissions: { defaultMode: 'default' } }));
        }
        if (!hooks) return;
        fs.writeFileSync(w.paths.roster, `${fs.readFileSync(w.paths.roster, 'utf8')}    working_directory: ${dirs.workdir}\n`);
        const { MOSAIC_AGENT_NAME: _n, ...env } = process.env;
        const r = await runBin(['hooks', 'install', 'cc1'], { ...env, HOME: dirs.home, MOSAIC_HOME: home });
        installOut = r.stdout + r.stderr;
        if (r.code !== 0) throw new Error(`hooks install failed: ${installOut}`);
      },
    });
  });
  afterAll(async () => {
    await pane?.stop();
    await tmux?.stop();
    await endpoint?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  if (dialog)
    it('the startup permission-mode dialog ⇒ waiting (`dialog: …`), a send is refused; chosen ⇒ available in manual mode', async () => {
      await pane.waitForScreen(/No, keep manual mode/, 60_000);
      const row = await waitingWithinTwoTicks(w);
      expect(row.readiness).toBe('waiting');
      expect(row.evidence[0]).toMatch(
        new RegExp(
          `^screen: dialog: permission mode \\(Make auto mode your default permission mode\\?\\)( \\(read \\S+ ago\\))? ${rulesTag(variant.version)}$`,
        ),
      );
      const seq = endpoint.lastSeq();
      const r = await sendToAgent({ agent: 'cc1', runtime: 'claude', socket: tmux.socket, runDir: w.paths.runDir, message: 'hello', timeoutMs: 3000 });
      expect(r.status).toBe('refused');
      expect(r.reason).toMatch(/shows a dialog \(permission mode/);
      expect(await pane.capture()).toMatch(/No, keep manual mode/);
      // "No, keep manual mode": the human's choice, made here by the test.
      await pane.keys('Down');
      await pane.waitForScreen(/❯ No, keep manual mode/, 10_000);
      await pane.keys('Enter');
      await pane.waitForScreen(/⏸ manual mode on/, 30_000);
      const after = await w.until('available after the dialog', is('available'));
      expect(after.screen?.state).toBe('idle');
      expect(endpoint.lastSeq()).toBe(seq);
    });

  it('idle at its input line ⇒ available', async () => {
    const row = await w.until('available at the idle prompt', is('available'));
    expect(row.screen?.state).toBe('idle');
    if (hooks) {
      expect(installOut).toContain('cc1 (claude)');
      await w.until('the SessionStart beat', (r) => r.heartbeat?.state === 'idle');
    } else {
      expect(row.heartbeat).toBeNull();
      expect(row.evidence[0]).toMatch(new RegExp(`^screen: idle at the input line( \\(read \\S+ ago\\))? ${rulesTag(variant.version)}$`));
    }
    // The version comes from the live process (its package.json), and the rules proven on it read the screen: no RULES-STALE.
    expect(row.screen?.version).toBe(variant.version);
    expect(row.flags).not.toContain('RULES-STALE');
  });

  it('a slow streamed reply ⇒ working', async () => {
    // Streamed in pieces over 1 s, then held open: the turn lasts until the release, whatever the pace.
    const reply = endpoint.queue({ kind: 'text', text: 'one two three four five six seven eight', paceSeconds: 1, hold: 'before-end' });
    await pane.submit('answer slowly');
    await reply.started;
    await pane.waitForScreen(SCREEN.claude.busy, 30_000);
    const row = await w.until('working mid-turn', is('working'));
    expect(row.evidence.join('; ')).toMatch(hooks ? /state=busy|screen: busy marker/ : /^screen: busy marker/);
    reply.release();
    await w.until('available after the turn', is('available'));
  });

  it(`a permission prompt ⇒ ${variant.prompts ? 'waiting within 2 ticks with tool and command; dismissed with Esc ⇒ available' : 'none in auto mode: the command runs unasked ⇒ available'}`, async () => {
    if (!variant.prompts) {
      const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
      await pane.submit('write the proto file');
      await call.started;
      await w.until('the command ran unasked', () => fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt')), 30_000);
      // The Stop hook's idle beat may land before Claude redraws its input line (the fresher
      // evidence wins, so the row is available first): wait for both, then check both.
      const row = await w.until('available after the auto-mode turn, its input line back', (r) => r.readiness === 'available' && r.screen?.state === 'idle');
      expect(row.readiness).toBe('available');
      expect(row.screen?.state).toBe('idle');
      fs.rmSync(path.join(pane.dirs.workdir, 'proto.txt'));
      return;
    }
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await pane.submit('write the proto file');
    await pane.waitForScreen(SCREEN.claude.permission!, 30_000);
    const row = await waitingWithinTwoTicks(w);
    expect(row.readiness).toBe('waiting');
    // The COMMAND is named (2.1.332: the line between the dashed rules, never its ` Tip: auto mode handles…` line).
    expect(row.evidence[0]).toMatch(new RegExp(`^screen: permission prompt Bash echo hi > proto\\.txt ${rulesTag(variant.version)}$`));
    expect(row.screen?.prompt).toMatchObject({ kind: 'permission', tool: 'Bash', detail: 'echo hi > proto.txt', id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    if (hooks)
      await w.until(
        'the PermissionRequest beat beside the screen',
        (r) =>
          r.readiness === 'waiting' &&
          r.heartbeat?.state === 'waiting' &&
          /state=waiting \(permission: Bash echo hi > proto\.txt\)/.test(r.evidence.join('; ')),
      );
    // Nothing was typed into the dialog: the tool did not run.
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
    // Esc rejects it; Claude fires no hook for that, so a hooked beat still says waiting: the fresher screen wins.
    await pane.keys('Escape');
    await pane.waitForScreen(SCREEN.claude.prompt, 30_000);
    const after = await w.until('available after the prompt was dismissed', is('available'));
    if (hooks) expect(after.evidence.join('; ')).toMatch(/^screen: idle at the input line .*; heartbeat \d+s old, state=waiting .*\(older\)/);
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
  });

  it('a 429 turn ⇒ stuck + LIMITED; the next good turn clears it', async () => {
    endpoint.queue({ kind: 'error', status: 429, times: ERROR_ATTEMPTS.claude });
    await pane.submit('this turn is rate limited');
    await pane.waitForScreen(SCREEN.claude.rateLimited, 60_000);
    const stuck = await w.until('stuck after the 429', is('stuck'));
    expect(stuck.flags).toContain('LIMITED');
    expect(stuck.evidence.join('; ')).toMatch(/rate limited/);
    const reply = endpoint.queue({ kind: 'text', text: 'fine again', hold: 'before-end' });
    await pane.submit('and now a good turn');
    await reply.started;
    const working = await w.until('working: the next turn started', is('working'));
    expect(working.flags).not.toContain('LIMITED');
    reply.release();
    const done = await w.until('available after the good turn', is('available'));
    expect(done.flags).not.toContain('LIMITED');
  });
});
