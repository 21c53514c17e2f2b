/**
 * The tmux calls that put operator text into an agent's pane. Owner: actions.
 *
 * - Every message: a `\n` inside `send-keys -l` acts as Enter (measured on tmux
 *   3.3a), a final `;` of a `send-keys` argument is eaten as a command separator, and Codex
 *   takes an Enter right after `send-keys -l` as a newline — so the text is loaded into a uniquely named paste buffer (`load-buffer -b <name> -`, text on
 *   stdin) and pasted with `paste-buffer -p -d`: tmux wraps it in the bracketed-paste markers
 *   `ESC[200~ … ESC[201~` when the pane's program enabled bracketed paste (`ESC[?2004h`, as
 *   Claude Code, codex, pi and opencode do), so the runtime receives ONE paste block whose
 *   lines are separated by CR, and the buffer is deleted afterwards.
 * - Then Enter as its own `send-keys`.
 */
import { runTmux, type ExecResult, type TmuxServer } from './exec.js';

let bufferCounter = 0;

function failure(what: string, result: ExecResult): Error {
  const why = result.stderr.trim().split('\n')[0] || result.error || `exit ${result.exitCode}`;
  return new Error(`${what}: ${why.replace(/^tmux: /, '')}`);
}

/**
 * Types `text` (one line, no newline) into `target` literally with `send-keys -l`. NOT used for
 * operator messages (see {@link insertText}: a final `;` would be eaten by tmux, Codex would
 * take the following Enter as a newline); kept for key-level tests.
 * Throws an Error with tmux's reason when the call fails. `timeoutMs` defaults to 2000.
 */
export async function typeLiteral(socket: TmuxServer, target: string, text: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
  if (text.includes('\n')) throw new Error('typeLiteral: text contains a newline (use pasteBracketed)');
  const result = await runTmux(socket, ['send-keys', '-l', '-t', target, '--', text], {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 2000,
  });
  if (!result.ok) throw failure(`send-keys ${target}`, result);
}

/**
 * Pastes `text` (may span lines, `\n`-separated) into `target` as ONE bracketed paste:
 * `load-buffer -b mosaic-top-<pid>-<n> -` then `paste-buffer -p -d -b … -t target`. The
 * buffer is removed even when the paste fails. Throws an Error with tmux's reason.
 * `timeoutMs` (per tmux call) defaults to 2000.
 */
export async function pasteBracketed(socket: TmuxServer, target: string, text: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
  const buffer = `mosaic-top-${process.pid}-${++bufferCounter}`;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const loaded = await runTmux(socket, ['load-buffer', '-b', buffer, '-'], { input: text, signal: opts.signal, timeoutMs });
  if (!loaded.ok) throw failure(`load-buffer ${buffer}`, loaded);
  const pasted = await runTmux(socket, ['paste-buffer', '-p', '-d', '-b', buffer, '-t', target], { signal: opts.signal, timeoutMs });
  if (!pasted.ok) {
    await runTmux(socket, ['delete-buffer', '-b', buffer], { timeoutMs });
    throw failure(`paste-buffer ${target}`, pasted);
  }
}

/**
 * Puts `text` into `target` through a tmux paste buffer, ALWAYS: the text never
 * passes through `send-keys` arguments, so a final `;` (tmux's command separator), `\;`, a
 * leading `-` or a key name stay text, byte for byte; and a runtime that enabled bracketed
 * paste gets one paste block (Codex takes an Enter after `send-keys -l` text as a newline).
 * Does not press Enter. Throws an Error with tmux's reason.
 */
export async function insertText(
  socket: TmuxServer,
  target: string,
  text: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<'bracketed-paste'> {
  await pasteBracketed(socket, target, text, opts);
  return 'bracketed-paste';
}

/** Presses `key` (a tmux key name, e.g. `Enter`) in `target`. Throws an Error with tmux's reason. */
export async function pressKey(socket: TmuxServer, target: string, key: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
  const result = await runTmux(socket, ['send-keys', '-t', target, key], { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 2000 });
  if (!result.ok) throw failure(`send-keys ${key} ${target}`, result);
}
