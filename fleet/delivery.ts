/**
 * How operator text is delivered to each runtime: DATA beside the screen
 * rules (fleet/screen-rules.ts), read by the verified send (src/actions/send.ts) and the
 * receipt classifier (fleet/verify.ts). Owner: actions.
 *
 * Measured with the real runtimes (shared/spec/runtimes.md; Claude Code 2.1.197, Codex 0.171.0,
 * pi 0.73.1, opencode 1.18.33):
 * - text always goes in through a tmux paste buffer (`load-buffer -` from stdin, then
 *   `paste-buffer -p -d -b <unique name>`), never as `send-keys` arguments: tmux reads a final
 *   `;` of a `send-keys` argument as a command separator, and Codex takes an Enter that follows
 *   `send-keys -l` at once as a newline (paste-burst detection) — after a bracketed paste its
 *   Enter submits;
 * - Enter is its own `send-keys Enter`, pressed once the text shows in the runtime's input box;
 * - uptake is the runtime's own evidence, never the text merely appearing on screen: its busy
 *   marker turning on, a `busy` beat from its UserPromptSubmit hook, or its input box emptied
 *   after it held the text;
 * - while busy, Claude Code, pi and opencode queue a message (Claude `Press up to edit queued
 *   messages`, pi `Steering: …`, opencode `… QUEUED`: the screen rules' `queued` markers);
 *   Codex STEERS: Enter while busy goes into the running turn (cancelled and resent with the
 *   message), which is a submission, not a loss.
 */

/** Evidence that a runtime took a message. */
export type UptakeSignal =
  /** The screen rules read `busy` after Enter where the baseline was not busy. */
  | 'busy-marker'
  /** The heartbeat turned `busy` after the send (a UserPromptSubmit hook, the sim agent's beat). */
  | 'hook-busy'
  /** The input box held the text, and after Enter it is empty. */
  | 'box-emptied';

/** What Enter does while the runtime runs a turn. */
export type WhileBusy = 'queues' | 'steers';

/** The delivery of one runtime. */
export interface DeliveryRule {
  /** Roster `runtime:` value (as in the screen rules). */
  runtime: string;
  aliases?: string[];
  /**
   * The runtime turns bracketed paste on (`ESC[?2004h`), so a paste of several lines arrives as
   * ONE block and its CRs stay inside the message. False: only one-line messages are sent (a
   * program without bracketed paste would take each line break as Enter).
   */
  bracketedPaste: boolean;
  /** Bound for the pasted text to show in the input box before Enter is pressed, ms. */
  showBoundMs: number;
  /** Pause between the text showing in the box and Enter, ms (Codex: let paste-burst detection settle). */
  settleMs: number;
  /** The tmux key that submits (`send-keys <key>`). */
  submitKey: string;
  /** Which signals count as uptake (see {@link UptakeSignal}). */
  uptake: UptakeSignal[];
  whileBusy: WhileBusy;
}

/** Delivery per runtime, shipped. Data: a new runtime is one entry. */
export const SHIPPED_DELIVERY: readonly DeliveryRule[] = [
  {
    runtime: 'claude',
    aliases: ['claude-code', 'claudecode'],
    bracketedPaste: true,
    showBoundMs: 3000,
    settleMs: 50,
    submitKey: 'Enter',
    uptake: ['busy-marker', 'hook-busy', 'box-emptied'],
    whileBusy: 'queues',
  },
  {
    runtime: 'codex',
    bracketedPaste: true,
    showBoundMs: 3000,
    settleMs: 150,
    submitKey: 'Enter',
    uptake: ['busy-marker', 'hook-busy', 'box-emptied'],
    whileBusy: 'steers',
  },
  {
    runtime: 'pi',
    bracketedPaste: true,
    showBoundMs: 3000,
    settleMs: 100,
    submitKey: 'Enter',
    uptake: ['busy-marker', 'hook-busy', 'box-emptied'],
    whileBusy: 'queues',
  },
  {
    runtime: 'opencode',
    bracketedPaste: true,
    showBoundMs: 5000,
    settleMs: 150,
    submitKey: 'Enter',
    uptake: ['busy-marker', 'hook-busy', 'box-emptied'],
    whileBusy: 'queues',
  },
];

/**
 * Delivery to a pane whose runtime has no rules (or none in the roster): one line only (we
 * cannot know it takes a bracketed paste), and only a `busy` beat counts as uptake — the
 * terminal's echo of typed text, or the cursor moving on, is not the program taking it.
 */
export const GENERIC_DELIVERY: DeliveryRule = {
  runtime: '*',
  bracketedPaste: false,
  showBoundMs: 1500,
  settleMs: 0,
  submitKey: 'Enter',
  uptake: ['hook-busy'],
  whileBusy: 'queues',
};

/** A roster runtime name as the rules name it: basename, lower case. */
function runtimeKey(runtime: string): string {
  return runtime.trim().split('/').pop()!.toLowerCase();
}

/**
 * The delivery rule of `runtime` (roster name or alias), or {@link GENERIC_DELIVERY} when it
 * has none (also for null/empty). Pure.
 */
export function deliveryFor(runtime: string | null | undefined, rules: readonly DeliveryRule[] = SHIPPED_DELIVERY): DeliveryRule {
  if (!runtime) return GENERIC_DELIVERY;
  const key = runtimeKey(runtime);
  return rules.find((r) => r.runtime === key || (r.aliases ?? []).includes(key)) ?? GENERIC_DELIVERY;
}
