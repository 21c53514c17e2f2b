/**
 * A key that reaches a pane only while the pane shows exactly what was checked: the check runs
 * INSIDE the tmux server, in the same command list as the key (`if-shell -F` over a format
 * that searches the pane's visible rows with `#{C/r:…}`, tmux ≥ 3.2), so no pane output is
 * processed between the check and the key (tmux runs one client's command list without
 * returning to its event loop). What remains is the time the key spends in the pty before the
 * program reads it — the smallest window tmux allows.
 *
 * Used by `answer` (src/actions/answer.ts): the prompt the operator saw must be on screen, at
 * the same rows, with the cursor where it was and the same foreground program, when the key goes.
 */
import { randomBytes } from 'node:crypto';
import { runTmux, type TmuxServer } from './exec.js';

/** A pane's visible screen and the state a guard pins, from ONE tmux call. */
export interface PaneScreen {
  /** Visible rows as `capture-pane -p` prints them (raw, unsanitized; trailing blanks kept). */
  rows: string[];
  /** Cursor column and row (0-based). */
  cursorX: number;
  cursorY: number;
  /** Lines in the pane's history (grows when the screen scrolls). */
  historySize: number;
  /** tmux's `pane_current_command` (the foreground process's name) and `pane_pid`. */
  currentCommand: string;
  panePid: number | null;
  /** True while the pane is in a mode (copy mode): a key would drive the mode. */
  inMode: boolean;
  /** The pane's id (`%12`) and whether its program has exited (remain-on-exit). */
  paneId: string;
  dead: boolean;
}

/** The `display-message` format that follows a capture: cursor, history, mode, pane id, dead, pid, foreground command (last: it may hold tabs). */
const STATE_FORMAT = '#{cursor_x}\t#{cursor_y}\t#{history_size}\t#{pane_in_mode}\t#{pane_id}\t#{pane_dead}\t#{pane_pid}\t#{pane_current_command}';

/** Parses `capture-pane -p` output followed by the `<marker>\t<STATE_FORMAT>` line; null when the marker is missing. */
function parseScreen(stdout: string, marker: string): { screen: PaneScreen; rest: string } | null {
  const at = stdout.lastIndexOf(`\n${marker}\t`);
  const start = stdout.startsWith(`${marker}\t`) ? 0 : at >= 0 ? at + 1 : -1;
  if (start < 0) return null;
  const end = stdout.indexOf('\n', start);
  const line = stdout.slice(start + marker.length + 1, end < 0 ? undefined : end);
  const [x, y, history, mode, paneId, dead, pid, ...command] = line.split('\t');
  const text = stdout.slice(0, start).replace(/\n$/, '');
  const screen: PaneScreen = {
    rows: text.split('\n'),
    cursorX: Number(x),
    cursorY: Number(y),
    historySize: Number(history),
    currentCommand: command.join('\t'),
    panePid: /^\d+$/.test(pid ?? '') ? Number(pid) : null,
    inMode: mode === '1',
    paneId: paneId ?? '',
    dead: dead === '1',
  };
  return { screen, rest: end < 0 ? '' : stdout.slice(end + 1) };
}

/**
 * Captures pane `pane` (`%12`, or a target like `=coder1:0.0`) on `server` in ONE tmux call
 * (`capture-pane -p ; display-message -p <nonce marker + state>`). Throws an Error with tmux's
 * reason when the pane cannot be read. `timeoutMs` defaults to 2000.
 */
export async function capturePaneScreen(server: TmuxServer, pane: string, opts: { timeoutMs?: number } = {}): Promise<PaneScreen> {
  const paneId = pane;
  const marker = `::mosaic-screen:${randomBytes(6).toString('hex')}::`;
  const result = await runTmux(server, ['capture-pane', '-p', '-t', paneId, ';', 'display-message', '-p', '-t', paneId, `${marker}\t${STATE_FORMAT}`], {
    timeoutMs: opts.timeoutMs ?? 2000,
  });
  const parsed = result.ok ? parseScreen(result.stdout, marker) : null;
  if (!parsed || !parsed.screen.paneId) throw new Error(result.error ?? `capture-pane ${paneId}: no such pane`);
  return parsed.screen;
}

/** True when two captures show the same thing: rows (trailing blanks ignored), cursor, history, foreground program, mode. Pure. */
export function sameScreen(a: PaneScreen, b: PaneScreen): boolean {
  if (a.cursorX !== b.cursorX || a.cursorY !== b.cursorY || a.historySize !== b.historySize) return false;
  if (a.currentCommand !== b.currentCommand || a.panePid !== b.panePid || a.inMode !== b.inMode || a.paneId !== b.paneId) return false;
  const norm = (rows: string[]) =>
    rows
      .map((r) => r.trimEnd())
      .join('\n')
      .trimEnd();
  return norm(a.rows) === norm(b.rows);
}

/** Characters a tmux format would read (`#` starts one, `}` ends it, `,` splits arguments): matched by `.` instead. */
const FORMAT_CHARS = '#{},';

/** `text` as a POSIX extended regular expression matching it literally (format characters as `.`). Pure. */
export function literalRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}#,]/g, (c) => (FORMAT_CHARS.includes(c) ? '.' : `\\${c}`));
}

/** Longest row text pinned whole; longer rows are pinned by their first this many characters. */
const MAX_ROW_CHARS = 240;
/** Bound of a guard's format, bytes (tmux refuses a client command over 16 KiB in all). */
export const MAX_GUARD_BYTES = 8000;

/**
 * The tmux format (evaluates to `1` or `0` in the pane) that holds while the pane shows what
 * `screen` showed: every non-blank row from `fromRow` (0-based) to the bottom is found by
 * `#{C/r:^<row>$}` FIRST at the same row (an identical row higher up counts as tmux would find
 * it); cursor position, history size, foreground command, pane pid and "not in a mode" equal.
 * Rows are pinned in order until {@link MAX_GUARD_BYTES}; at least the first non-blank row is.
 * Pure; throws only when `fromRow` is past the screen.
 */
export function screenGuard(screen: PaneScreen, fromRow: number): string {
  if (fromRow < 0 || fromRow >= screen.rows.length) throw new Error(`screenGuard: row ${fromRow} is not on a screen of ${screen.rows.length} rows`);
  const rows = screen.rows.map((r) => r.trimEnd());
  const terms = [
    `#{==:#{cursor_x},${screen.cursorX}}`,
    `#{==:#{cursor_y},${screen.cursorY}}`,
    `#{==:#{history_size},${screen.historySize}}`,
    '#{==:#{pane_in_mode},0}',
  ];
  if (screen.panePid !== null) terms.push(`#{==:#{pane_pid},${screen.panePid}}`);
  // A command name with format characters cannot be compared inside a format: the pid pins the pane instead.
  if (/^[\w.+@/-]+$/.test(screen.currentCommand)) terms.push(`#{==:#{pane_current_command},${screen.currentCommand}}`);
  let bytes = terms.join('').length;
  let pinned = 0;
  for (let i = fromRow; i < rows.length; i++) {
    const row = rows[i];
    if (row === undefined || !row.trim()) continue;
    const chars = Array.from(row);
    const whole = chars.length <= MAX_ROW_CHARS;
    const source = `^${literalRegex(chars.slice(0, MAX_ROW_CHARS).join(''))}${whole ? '$' : ''}`;
    const re = new RegExp(source);
    const first = rows.findIndex((r) => re.test(r));
    const term = `#{==:#{C/r:${source}},${first + 1}}`;
    if (pinned > 0 && bytes + Buffer.byteLength(term) > MAX_GUARD_BYTES) break;
    terms.push(term);
    bytes += Buffer.byteLength(term);
    pinned++;
  }
  return terms.reduceRight((acc, t) => `#{&&:${t},${acc}}`);
}

/** What {@link sendKeyIfScreen} did. */
export interface GuardedKey {
  /** True when the guard held and the key was sent in the same tmux command list. */
  sent: boolean;
  /** The pane as tmux showed it in that command list, just before the guard was evaluated. */
  before: PaneScreen;
}

/**
 * Sends `key` (a tmux key name: `1`, `y`, `Escape`) to pane `paneId` only if `guard` (a format
 * from {@link screenGuard}) evaluates true there, in ONE tmux invocation:
 * `capture-pane -p ; display-message -p <state> ; if-shell -F <guard> "send-keys <key> ;
 * display-message -p <sent>" "display-message -p <held>"`. The capture and the guard see the
 * same server state (no pane output is processed within one command list). Throws an Error
 * with tmux's reason when the call fails or its answer is incomplete (then whether the key
 * went is unknown only if the answer was cut after the guard — the message says so).
 */
export async function sendKeyIfScreen(server: TmuxServer, paneId: string, key: string, guard: string, opts: { timeoutMs?: number } = {}): Promise<GuardedKey> {
  if (!/^[A-Za-z0-9-]+$/.test(key)) throw new Error(`sendKeyIfScreen: "${key}" is not a plain tmux key name`);
  if (!/^%\d+$/.test(paneId)) throw new Error(`sendKeyIfScreen: "${paneId}" is not a pane id`);
  const nonce = randomBytes(6).toString('hex');
  const marker = `::mosaic-screen:${nonce}::`;
  const sent = `::mosaic-key:${nonce}:sent::`;
  const held = `::mosaic-key:${nonce}:held::`;
  const result = await runTmux(
    server,
    [
      'capture-pane',
      '-p',
      '-t',
      paneId,
      ';',
      'display-message',
      '-p',
      '-t',
      paneId,
      `${marker}\t${STATE_FORMAT}`,
      ';',
      'if-shell',
      '-F',
      '-t',
      paneId,
      guard,
      `send-keys -t ${paneId} ${key} ; display-message -p ${sent}`,
      `display-message -p ${held}`,
    ],
    { timeoutMs: opts.timeoutMs ?? 2000 },
  );
  const parsed = parseScreen(result.stdout, marker);
  if (!parsed) throw new Error(`${result.error ?? 'tmux gave no answer'}; nothing typed`);
  const verdict = parsed.rest.split('\n').find((l) => l === sent || l === held);
  if (!verdict) throw new Error(`${result.error ?? 'tmux did not say whether the guard held'} (the key may or may not have been sent)`);
  return { sent: verdict === sent, before: parsed.screen };
}
