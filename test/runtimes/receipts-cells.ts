/**
 * The receipts matrix (docs/actions.md) on the REAL runtimes, shared by the per-runtime files
 * test/runtimes/receipts-<runtime>.test.ts (one file a runtime, so the 2-worker run drives two
 * runtimes at once; the machine-wide slot lock caps runtime panes at 2): every cell of
 * test/runtimes/receipts-matrix.ts sends through the real `sendToAgent` into a real Claude Code /
 * Codex / pi / opencode pane and asserts the receipt AND what the model endpoint received:
 * - submitted / queued ⇒ the model receives exactly the framed text, exactly once (nothing lost,
 *   nothing doubled, `;` `\;` `-` unicode 2 KB and line breaks intact);
 * - typed_not_submitted ⇒ the model has not received it and the text waits in the input box;
 * - refused ⇒ the model never receives it, and a dialog that was open is still open afterwards
 *   and its tool did not run;
 * - no_evidence ⇒ the model never receives it.
 * Claude Code runs on both version sets (test/runtimes/variants.ts): the pinned 2.1.197 every
 * cell; the newest 2.1.332 in auto mode (its default) the cells its screens decide (idle, busy,
 * text in the box, Enter not taken, just restarted — a dead pane and a `sleep` pane do not
 * depend on the release) and in manual mode the permission prompt (auto mode opens none for
 * these commands) and idle.
 * One runtime pane alive at a time in a file (the pane is reused across the cells of a runtime,
 * reset between them).
 * `MOSAIC_RECEIPTS_MATRIX_OUT=<file>` appends what each cell gave (one JSON line a cell) for the
 * docs and `npm run runtimes:latest`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendToAgent } from '../../src/actions/send.js';
import { deliveryFor } from '../../fleet/delivery.js';
import { readInput } from '../../fleet/verify.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import type { RuntimeName } from './install.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { lastUserText, startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { EXPECTED, MESSAGES, SHAPES, STATES, type Expected, type MatrixRuntime, type Shape, type State } from './receipts-matrix.js';
import { claudeVariants, type ClaudeVariant } from './variants.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { at } from '../helpers/must.js';

const FRAME = '[operator:mosaic-top] ';
/** One cell as run: what each send gave (its status) and the evidence, for the docs and `runtimes:latest`. */
interface CellResult {
  runtime: MatrixRuntime;
  variant?: string;
  state: State;
  shape: Shape;
  receipts: string[];
  evidence: string[];
}

/**
 * Records a cell: with `MOSAIC_RECEIPTS_MATRIX_OUT=<file>` it appends one JSON line to the file
 * (one line a cell: the per-runtime files run in parallel and append to the same file).
 */
function record(cell: CellResult): void {
  const out = process.env.MOSAIC_RECEIPTS_MATRIX_OUT;
  if (out) fs.appendFileSync(out, `${JSON.stringify(cell)}\n`);
}

/** A matrix pane: the runtime, its Claude variant (version, mode), and the states it runs (all when absent). */
export interface MatrixPane {
  runtime: RuntimeName;
  label: string;
  variant: ClaudeVariant | null;
  states?: readonly State[];
}

/** States the newest Claude Code's screens decide in auto mode, and in manual mode. */
const AUTO_STATES: readonly State[] = ['idle', 'busy (mid-turn)', 'text already in the input box', 'Enter not taken', 'just restarted'];
const MANUAL_STATES: readonly State[] = ['idle', 'permission prompt open'];

/** The matrix panes of `runtime`: one per Claude Code variant (test/runtimes/variants.ts), else one. */
export function matrixPanes(runtime: RuntimeName): MatrixPane[] {
  if (runtime !== 'claude') return [{ runtime, label: runtime, variant: null }];
  return claudeVariants().map((variant) => ({
    runtime: 'claude' as const,
    label: `claude ${variant.label}`,
    variant,
    ...(variant.mode === 'auto' ? { states: AUTO_STATES } : variant.mode === 'manual' ? { states: MANUAL_STATES } : {}),
  }));
}

/** The messages of a shape (two for the rapid second send). */
function messagesOf(shape: Shape): string[] {
  const m = MESSAGES[shape];
  return Array.isArray(m) ? m : [m];
}

/** The statuses a cell allows, per message. */
function allowed(expected: Expected, index: number): string[] {
  if (expected === 'refused|submitted') return ['refused', 'submitted'];
  const parts = expected.split(' + ');
  return [at(parts, Math.min(index, parts.length - 1), 'expected status')];
}

/**
 * How often `text` arrived as (part of) the last user message of the main requests after
 * `afterSeq`: Claude Code sends two messages queued in one turn together, as one user message.
 */
function arrivals(endpoint: ModelEndpoint, afterSeq: number, text: string): number {
  return endpoint
    .mainRequests()
    .filter((r) => r.seq > afterSeq)
    .reduce((n, r) => n + lastUserText(r).split(text).length - 1, 0);
}

/**
 * The text of a long paste as Claude Code 2.1.332 hands it to the model: inside an envelope
 * `<pasted_content id="…">\n…\n</pasted_content id="…">` (after the `[Pasted text #1 …]` line
 * of the input box); null when the message has no such envelope.
 */
function pastedContent(message: string): string | null {
  const m = /<pasted_content id="([^"]+)">\n([\s\S]*)\n<\/pasted_content id="\1">\n?$/.exec(message);
  return m?.[2] ?? null;
}

/** Main requests after `afterSeq` whose last user message is exactly `text` (byte for byte; a 2.1.332 paste envelope holding exactly `text` counts). */
function exactArrivals(endpoint: ModelEndpoint, afterSeq: number, text: string): number {
  return endpoint.mainRequests().filter((r) => r.seq > afterSeq && (lastUserText(r) === text || pastedContent(lastUserText(r)) === text)).length;
}

/** The busy cell's shapes, the 2 KB paste last (see the busy cell). */
const BUSY_ORDER: readonly Shape[] = [...SHAPES.filter((s) => s !== '2 KB'), '2 KB'];

/** A screen with Claude Code 2.1.332's blinking tool-status dot (`●` at a line start while a tool waits) blanked, trailing blanks dropped. */
const steady = (screen: string) => screen.replace(/^●/gm, ' ').replace(/\s+$/gm, '');

/**
 * Main requests after `afterSeq` whose NEW user message (the last one: earlier ones are the
 * transcript the runtime resends) contains `needle` anywhere.
 */
function mentions(endpoint: ModelEndpoint, afterSeq: number, needle: string): number {
  return endpoint.mainRequests().filter((r) => r.seq > afterSeq && lastUserText(r).includes(needle)).length;
}

/**
 * Defines the receipts-matrix tests of `runtime`: one describe block a pane (each Claude Code
 * variant its own), every cell of test/runtimes/receipts-matrix.ts asserted on the real runtime.
 */
export function describeReceiptsMatrix(runtime: RuntimeName): void {
  describe.each(matrixPanes(runtime).map((p) => [p.label, p] as const))('receipts matrix: real %s', (label, { variant, states }) => {
    const cells: (typeof EXPECTED)[MatrixRuntime] = Object.fromEntries(
      STATES.filter((st) => !states || states.includes(st)).map((st) => [st, EXPECTED[runtime][st]]),
    );
    let endpoint: ModelEndpoint;
    let pane: RuntimePane | null = null;
    let runDir: string;
    const agent = `m${runtime.slice(0, 2)}`;

    const launch = async (waitForIdle = true) => {
      pane = await launchRuntime(runtime, { endpoint, session: agent, startBoundMs: 90_000, waitForIdle, version: variant?.version, args: variant?.args });
      return pane;
    };
    const send = (message: string, over: Partial<Parameters<typeof sendToAgent>[0]> = {}): Promise<SendReceipt> =>
      sendToAgent({ agent, runtime, socket: pane!.tmux.socket, runDir, message, timeoutMs: 8000, ...over });
    const reading = async () => readInput(runtime, await pane!.capture());
    /** Back at the idle input line with an empty box (bounded). */
    const settleIdle = async () => {
      await waitFor(
        async () => {
          const r = await reading();
          // Codex's screen looks idle while a reply streams: the endpoint must have no response open too.
          return endpoint.open() === 0 && r.state === 'idle' && (r.box ?? '') === '' && !SCREEN[runtime].busy.test(await pane!.capture());
        },
        `${runtime} idle with an empty input box`,
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    };
    /**
     * Submit options right after settleIdle: for Claude Code no test-bed prompt wait (settleIdle
     * read its idle input line with the program's rules, which know 2.1.197's `paste again to
     * expand` footer; the test bed's `? for shortcuts` only shows when that footer's 8 s end).
     */
    const atIdle = { force: runtime === 'claude' };
    /** Records a cell and asserts its receipts against the matrix. */
    const check = (state: State, shape: Shape, receipts: SendReceipt[]) => {
      const expected = cells[state]![shape]!;
      record({
        runtime,
        ...(variant ? { variant: label } : {}),
        state,
        shape,
        receipts: receipts.map((r) => r.status),
        evidence: receipts.flatMap((r) => [r.reason ?? '', ...r.evidence]).filter(Boolean),
      });
      if (receipts.length > 1 && expected.includes(' + ')) {
        // Two sends at once: which one takes the per-agent lock first is not fixed, so the pair of
        // receipts is compared as a set (the endpoint check still pairs each text with its receipt).
        expect(
          [...receipts.map((r) => r.status)].sort(),
          `${runtime} / ${state} / ${shape}: ${receipts.map((r) => `${r.status} — ${r.reason ?? r.evidence.join(' | ')}`).join(' ;; ')}`,
        ).toEqual(expected.split(' + ').sort());
        return;
      }
      receipts.forEach((r, i) => {
        expect(allowed(expected, i), `${runtime} / ${state} / ${shape} #${i + 1}: ${r.status} — ${r.reason ?? r.evidence.join(' | ')}`).toContain(r.status);
      });
    };
    /** Delivered receipts reach the model exactly once, the others never (checked after the runtime is idle again). */
    const assertEndpoint = async (afterSeq: number, shape: Shape, receipts: SendReceipt[]) => {
      const texts = messagesOf(shape).map((m) => FRAME + m);
      const text = (i: number) => at(texts, i, 'sent text');
      for (const [i, r] of receipts.entries()) {
        if (r.status === 'submitted' || r.status === 'queued') {
          await waitFor(() => arrivals(endpoint, afterSeq, text(i)) >= 1, `${runtime}: the model receives ${shape} #${i + 1} exactly`, {
            timeoutMs: 60_000,
            intervalMs: 100,
          });
        }
      }
      await settleIdle();
      for (const [i, r] of receipts.entries()) {
        const n = arrivals(endpoint, afterSeq, text(i));
        if (r.status === 'submitted' || r.status === 'queued') {
          expect(n, `${runtime} / ${shape} #${i + 1} arrives exactly once`).toBe(1);
          if (shape !== 'rapid second send')
            expect(exactArrivals(endpoint, afterSeq, text(i)), `${runtime} / ${shape}: the model's user message is byte for byte the text sent`).toBe(1);
        } else
          expect(
            mentions(endpoint, afterSeq, at(messagesOf(shape), i, 'message')),
            `${runtime} / ${shape} #${i + 1} (${r.status}) never reaches the model`,
          ).toBe(0);
      }
    };

    // A state the runtime does not have (e.g. no permission prompt in pi) has no cells: its test
    // is not defined at all, so nothing is reported as skipped.
    const cellTest = (present: unknown): typeof it => (present ? it : ((() => undefined) as unknown as typeof it));

    beforeAll(async () => {
      endpoint = await startModelEndpoint();
      runDir = fs.mkdtempSync(path.join(os.tmpdir(), `rcpt-${runtime}-`));
      await launch();
    });
    afterAll(async () => {
      await pane?.stop();
      await endpoint?.close();
      fs.rmSync(runDir, { recursive: true, force: true });
    });

    // The busy cell runs first, its 2 KB shape last: Claude Code 2.1.197 replaces its footer
    // (`? for shortcuts`, `esc to interrupt`) with `paste again to expand` for 8 s after a long
    // paste, so a busy marker waited for within 8 s of one only shows when that timer ends.
    cellTest(cells['busy (mid-turn)'])('busy (mid-turn): queued (Claude, pi, opencode) or steered into the turn (Codex), delivered once', async () => {
      for (const shape of BUSY_ORDER) {
        if (!cells['busy (mid-turn)']![shape]) continue;
        await settleIdle();
        const before = endpoint.lastSeq();
        const hold = endpoint.queue({ kind: 'text', text: 'a long held turn', hold: runtime === 'codex' ? 'before-first-token' : 'before-end' });
        await pane!.submit('start a long turn', atIdle);
        await hold.started;
        await pane!.waitForScreen(SCREEN[runtime].busy, 30_000);
        const receipts = await Promise.all(messagesOf(shape).map((m) => send(m)));
        hold.release();
        check('busy (mid-turn)', shape, receipts);
        await assertEndpoint(before, shape, receipts);
      }
    });

    cellTest(cells.idle)('idle: each shape is submitted and reaches the model byte for byte, once', async () => {
      for (const shape of SHAPES) {
        if (!cells.idle![shape]) continue;
        await settleIdle();
        const before = endpoint.lastSeq();
        let receipts: SendReceipt[];
        if (shape === 'rapid second send') {
          // The first turn is held so the second send arrives mid-turn.
          const hold = endpoint.queue({ kind: 'text', text: 'first turn held', hold: runtime === 'codex' ? 'before-first-token' : 'before-end' });
          const [a, b] = MESSAGES[shape];
          receipts = await Promise.all([send(a), send(b)]);
          hold.release();
        } else if (runtime === 'opencode') {
          // opencode has no input box in the rules: its busy marker is the uptake; hold the turn so it shows.
          const hold = endpoint.queue({ kind: 'text', text: 'opencode turn', hold: 'before-end' });
          receipts = [await send(MESSAGES[shape])];
          hold.release();
        } else {
          receipts = [await send(MESSAGES[shape] as string)];
        }
        check('idle', shape, receipts);
        await assertEndpoint(before, shape, receipts);
      }
    });

    cellTest(cells['permission prompt open'])(
      'permission prompt open: refused before anything is typed; the prompt stays open, the tool never runs',
      async () => {
        await settleIdle();
        const before = endpoint.lastSeq();
        const proto = path.join(pane!.dirs.workdir, 'proto.txt');
        const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
        await pane!.submit('write the file please', atIdle);
        await call.started;
        const prompt = await pane!.waitForScreen(SCREEN[runtime].permission!, 30_000);
        for (const shape of SHAPES) {
          if (!cells['permission prompt open']![shape]) continue;
          const receipts = await Promise.all(messagesOf(shape).map((m) => send(m)));
          check('permission prompt open', shape, receipts);
          for (const r of receipts) expect(r.reason).toMatch(/permission prompt|dialog/);
          // The very same prompt is still open, nothing was typed into it, the tool did not run.
          const now = await pane!.capture();
          expect(now).toMatch(SCREEN[runtime].permission!);
          expect(steady(now)).toBe(steady(prompt));
          expect(fs.existsSync(proto)).toBe(false);
        }
        await pane!.keys('Escape');
        await pane!.waitForScreenGone(SCREEN[runtime].permission!, 30_000);
        await settleIdle();
        expect(fs.existsSync(proto)).toBe(false);
        for (const shape of SHAPES) for (const m of messagesOf(shape)) expect(mentions(endpoint, before, m)).toBe(0);
      },
    );

    cellTest(cells['text already in the input box'])('text already in the input box: refused; the draft alone is submitted later', async () => {
      await settleIdle();
      const before = endpoint.lastSeq();
      const draft = 'the operator was typing this draft';
      await pane!.tmux.ok(['set-buffer', '-b', 'draft', '--', draft]);
      await pane!.tmux.ok(['paste-buffer', '-p', '-d', '-b', 'draft', '-t', pane!.target]);
      await waitFor(async () => (await reading()).box?.includes('typing this draft'), 'the draft in the input box', { timeoutMs: 15_000 });
      for (const shape of SHAPES) {
        if (!cells['text already in the input box']![shape]) continue;
        const receipts = await Promise.all(messagesOf(shape).map((m) => send(m)));
        check('text already in the input box', shape, receipts);
        for (const r of receipts) expect(r.reason).toMatch(/already holds text/);
      }
      await pane!.keys('Enter');
      await waitFor(() => arrivals(endpoint, before, draft) === 1, 'the draft reaches the model', { timeoutMs: 30_000 });
      await settleIdle();
      for (const shape of SHAPES) for (const m of messagesOf(shape)) expect(mentions(endpoint, before, m)).toBe(0);
    });

    cellTest(cells['Enter not taken'])(
      'Enter not taken: typed_not_submitted while the text waits in the box; a second send is refused, not pasted behind it',
      async () => {
        await settleIdle();
        const before = endpoint.lastSeq();
        const message = MESSAGES['one line'];
        // A submit key the runtime ignores stands for an Enter that did not submit.
        const receipt = await send(message, { delivery: { ...deliveryFor(runtime), submitKey: 'Right' }, timeoutMs: 3000 });
        check('Enter not taken', 'one line', [receipt]);
        expect((await reading()).box).toContain('run the tests, then report back');
        expect(mentions(endpoint, before, message)).toBe(0);
        const retry = await send(message);
        expect(retry.status).toBe('refused');
        expect(retry.reason).toMatch(/already holds text/);
        // The text was there all along: Enter now submits it, once.
        await pane!.keys('Enter');
        await waitFor(() => arrivals(endpoint, before, FRAME + message) === 1, 'the typed text reaches the model on Enter', { timeoutMs: 30_000 });
        await settleIdle();
        expect(arrivals(endpoint, before, FRAME + message)).toBe(1);
      },
    );

    cellTest(cells['pane that reads nothing'])("pane that reads nothing (sleep) with this runtime's rules: refused", async () => {
      await pane!.tmux.ok(['new-session', '-d', '-s', `${agent}-sleep`, '-x', '120', '-y', '30', 'sleep', '100000']);
      try {
        for (const shape of SHAPES) {
          if (!cells['pane that reads nothing']![shape]) continue;
          const receipts = await Promise.all(
            messagesOf(shape).map((m) => sendToAgent({ agent: `${agent}-sleep`, runtime, socket: pane!.tmux.socket, runDir, message: m, timeoutMs: 3000 })),
          );
          check('pane that reads nothing', shape, receipts);
          for (const r of receipts) expect(r.reason).toMatch(/input line is not on screen/);
        }
        expect((await pane!.tmux.capture(`${agent}-sleep`)).trim()).toBe('');
      } finally {
        await pane!.tmux.killSession(`${agent}-sleep`);
      }
    });

    cellTest(cells['just restarted'])('just restarted: refused until the input line shows, or submitted — never lost or doubled', async () => {
      const shapes = (['one line', 'multi-line'] as Shape[]).filter((shape) => cells['just restarted']![shape]);
      await pane!.stop();
      const before = endpoint.lastSeq();
      await launch(false);
      // One restart serves both shapes: each is sent the moment the runtime is started (one after
      // the other, the first send's refusal takes ~0.1 s), each receipt checked on its own.
      const sent: [Shape, SendReceipt][] = [];
      for (const shape of shapes) sent.push([shape, await send(MESSAGES[shape] as string)]);
      for (const [shape, receipt] of sent) check('just restarted', shape, [receipt]);
      await pane!.waitForScreen(SCREEN[runtime].prompt, 90_000);
      for (const [shape, receipt] of sent) await assertEndpoint(before, shape, [receipt]);
    });

    cellTest(cells['dead pane'])('dead pane: refused, nothing typed', async () => {
      await pane!.tmux.ok(['set-option', '-w', '-t', `=${agent}:0`, 'remain-on-exit', 'on']);
      for (const pid of pane!.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitFor(
        async () => (await pane!.tmux.ok(['display-message', '-p', '-t', pane!.target, '#{pane_dead}'])).trim() === '1',
        'the runtime pane is dead',
        {
          timeoutMs: 30_000,
        },
      );
      const before = endpoint.lastSeq();
      for (const shape of SHAPES) {
        if (!cells['dead pane']![shape]) continue;
        const receipts = await Promise.all(messagesOf(shape).map((m) => send(m)));
        check('dead pane', shape, receipts);
        for (const r of receipts) expect(r.reason).toMatch(/dead/);
      }
      expect(endpoint.lastSeq()).toBe(before);
    });
  });
}

/** Defines the no-rules row: a plain `sleep` pane read with no runtime's screen rules. */
export function describeNoRulesPane(): void {
  describe('receipts matrix: a pane without screen rules that reads nothing (sleep)', () => {
    let tmux: IsolatedTmux;
    let runDir: string;
    beforeAll(async () => {
      tmux = await startIsolatedTmux('rcpt-none');
      runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rcpt-none-'));
    });
    afterAll(async () => {
      await tmux?.stop();
      fs.rmSync(runDir, { recursive: true, force: true });
    });

    it('the terminal echo is not uptake: no_evidence; the echo is the exact text; several lines are refused', async () => {
      const cells = EXPECTED['(no rules)']['pane that reads nothing']!;
      for (const shape of SHAPES) {
        if (!cells[shape]) continue;
        const session = `sleeper${SHAPES.indexOf(shape)}`;
        await tmux.newSession(session, ['sleep', '100000'], { width: 200, height: 40 });
        const receipts = await Promise.all(
          messagesOf(shape).map((m) => sendToAgent({ agent: session, runtime: 'sh', socket: tmux.socket, runDir, message: m, timeoutMs: 1500 })),
        );
        record({
          runtime: '(no rules)',
          state: 'pane that reads nothing',
          shape,
          receipts: receipts.map((r) => r.status),
          evidence: receipts.flatMap((r) => [r.reason ?? '', ...r.evidence]).filter(Boolean),
        });
        receipts.forEach((r, i) =>
          expect(allowed(cells[shape]!, i), `(no rules) / ${shape}: ${r.status} — ${r.reason ?? r.evidence.join(' | ')}`).toContain(r.status),
        );
        const screen = (await tmux.ok(['capture-pane', '-p', '-J', '-t', `=${session}:0.0`]))
          .split('\n')
          .map((l) => l.trimEnd())
          .filter(Boolean)
          .join('\n');
        if (at(receipts, 0).status === 'no_evidence') {
          // What tmux delivered is exactly the framed text (the terminal echo wraps long lines).
          expect(screen).toBe(FRAME + messagesOf(shape)[0]);
          expect(at(receipts, 0).evidence.join(' ')).toMatch(/not uptake/);
        } else {
          expect(screen).toBe('');
        }
        await tmux.killSession(session);
      }
    });
  });
}
