/**
 * Input behaviours of the simulated agent (`sim-agent --input-mode …`), so every receipt of a
 * verified send can be produced for real in a tmux pane. Owner: actions.
 *
 * The agent reads its terminal raw, turns bracketed paste on (`ESC[?2004h`, like Claude Code,
 * codex, pi and opencode) and keeps an input line `> …` at the bottom of its output:
 *   accept  Enter submits: the message is echoed above the prompt (`> …`), an `input:` line
 *           reports how it arrived (paste blocks, lines, chars), then the agent takes it ⇒ submitted
 *   queue   like accept while idle; while busy Enter queues the message and shows Claude Code's
 *           hint "Press up to edit queued messages"; queued messages are taken when idle ⇒ queued
 *   typed   typed text is echoed in the input line but Enter is ignored ⇒ typed_not_submitted
 *   ignore  input is read and dropped, nothing is echoed ⇒ no_evidence
 *
 * With `--screen claude|codex|pi|opencode` the input area looks like that runtime's (the exact
 * texts of shared/spec/runtimes.md, read by the shipped screen rules): Claude Code's box
 * between two rules with `❯ ` and the `? for shortcuts` / `esc to interrupt` footer, Codex's
 * `› ` composer, pi's editor between rules with its `(auto)` footer and `Working...`, opencode's
 * `┃` box with `ctrl+p commands` / `esc interrupt`. A taken message empties the box, as the
 * real runtimes do — that is the uptake a verified send reads, not the echo.
 */

/** Values of `--input-mode`. */
export type SimInputMode = 'accept' | 'queue' | 'typed' | 'ignore';
/** Every `--input-mode` value, for argument checking. */
export const SIM_INPUT_MODES: readonly SimInputMode[] = ['accept', 'queue', 'typed', 'ignore'];

/** Values of `--screen`: which runtime's input area the sim agent draws (`plain`: a `> ` line). */
export type SimScreen = 'plain' | 'claude' | 'codex' | 'pi' | 'opencode';
/** Every `--screen` value, for argument checking. */
export const SIM_SCREENS: readonly SimScreen[] = ['plain', 'claude', 'codex', 'pi', 'opencode'];

/** The hint Claude Code shows under its input box for a message sent mid-turn. */
export const QUEUED_HINT = 'Press up to edit queued messages';

const PASTE_START = '\u001b[200~';
const PASTE_END = '\u001b[201~';

/** One thing the operator did at the keyboard, decoded from raw terminal input. */
export type InputEvent = { type: 'text'; text: string } | { type: 'paste'; text: string } | { type: 'enter' } | { type: 'backspace' };

/** State of {@link decodeInput} between chunks (a paste may span several reads). */
export interface DecoderState {
  inPaste: boolean;
  pasted: string;
  /** Bytes held back because they may be the start of a marker cut by a read boundary. */
  pending: string;
}

/** A decoder state outside any paste, with nothing pending. */
export function newDecoderState(): DecoderState {
  return { inPaste: false, pasted: '', pending: '' };
}

/**
 * Decodes a chunk of raw terminal input into events. A bracketed paste (`ESC[200~ … ESC[201~`)
 * becomes ONE `paste` event with CR/CRLF turned into `\n`, even across chunks; CR outside a
 * paste is Enter, DEL/BS is backspace, other escape sequences and control characters are
 * dropped. Mutates `state`. Pure otherwise.
 */
export function decodeInput(state: DecoderState, chunk: string): InputEvent[] {
  const events: InputEvent[] = [];
  let data = state.pending + chunk;
  state.pending = '';
  let text = '';
  const flushText = () => {
    if (text) events.push({ type: 'text', text });
    text = '';
  };
  while (data.length) {
    if (state.inPaste) {
      const end = data.indexOf(PASTE_END);
      if (end < 0) {
        // Keep a possible partial end marker for the next chunk.
        const keep = partialSuffix(data, PASTE_END);
        state.pasted += data.slice(0, data.length - keep);
        state.pending = data.slice(data.length - keep);
        return events;
      }
      state.pasted += data.slice(0, end);
      events.push({ type: 'paste', text: state.pasted.replace(/\r\n?/g, '\n') });
      state.inPaste = false;
      state.pasted = '';
      data = data.slice(end + PASTE_END.length);
      continue;
    }
    const ch = data.charAt(0);
    if (ch === '\u001b') {
      if (data.startsWith(PASTE_START)) {
        flushText();
        state.inPaste = true;
        data = data.slice(PASTE_START.length);
        continue;
      }
      if (PASTE_START.startsWith(data)) {
        state.pending = data;
        break;
      }
      // Drop one CSI/SS3 sequence (arrows etc.) or a lone ESC.
      const m = /^(\[[0-9;?]*[ -/]*[@-~]|O.|.)?/s.exec(data.slice(1));
      data = data.slice(1 + (m ? m[0].length : 0));
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      flushText();
      events.push({ type: 'enter' });
      data = data.slice(data.startsWith('\r\n') ? 2 : 1);
      continue;
    }
    if (ch === '\u007f' || ch === '\b') {
      flushText();
      events.push({ type: 'backspace' });
      data = data.slice(1);
      continue;
    }
    if (ch < ' ') {
      data = data.slice(1);
      continue;
    }
    text += ch;
    data = data.slice(1);
  }
  flushText();
  return events;
}

function partialSuffix(data: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, data.length); n > 0; n--) {
    if (marker.startsWith(data.slice(data.length - n))) return n;
  }
  return 0;
}

/** What the sim agent does with a message it takes. */
export interface SimInputHooks {
  isBusy(): boolean;
  /** The agent takes `text` (acknowledges it, goes busy, beats). */
  take(text: string): void;
}

/**
 * The input line and the behaviour of one `--input-mode`. `print` writes an output line above
 * the input line; `feed` takes raw terminal input; `onIdle` lets a queued message through.
 */
export class SimInput {
  private buffer = '';
  private pasteBlocks = 0;
  private readonly queue: string[] = [];
  private readonly decoder = newDecoderState();
  /** Rows the input area occupies below the output (the cursor sits on its last row). */
  private areaRows = 0;
  private pasteCount = 0;

  constructor(
    readonly mode: SimInputMode,
    private readonly out: { write(s: string): unknown },
    private readonly hooks: SimInputHooks,
    private readonly screen: SimScreen = 'plain',
    /** Terminal width in cells (long input shows as a paste placeholder, like the runtimes). */
    private readonly columns: () => number = () => 80,
  ) {}

  /** Turns bracketed paste on and draws the prompt. */
  begin(): void {
    this.out.write('\u001b[?2004h');
    this.redraw();
  }

  /** Bracketed paste off (on exit). */
  end(): void {
    this.out.write('\u001b[?2004l\r\n');
  }

  /** Writes an output line above the input area. */
  print(line: string): void {
    this.out.write(`${this.clearArea()}${line}\r\n`);
    this.areaRows = 0;
    this.redraw();
  }

  private shown(text: string): string {
    return text.split('\n').join(' ⏎ ');
  }

  /** Moves to the first row of the input area and clears it and everything below. */
  private clearArea(): string {
    return `\r${this.areaRows > 1 ? `\u001b[${this.areaRows - 1}A` : ''}\u001b[J`;
  }

  /** What the box shows for the typed text: the text, or a paste placeholder when too long. */
  private boxText(): string {
    if (this.mode === 'ignore') return '';
    const text = this.shown(this.buffer);
    const room = Math.max(20, this.columns() - 6);
    if (text.length <= room) return text;
    if (this.screen === 'claude') return `[Pasted text #${this.pasteCount}]`;
    if (this.screen === 'codex') return `[Pasted Content ${this.buffer.length} chars]`;
    return `${text.slice(0, room - 1)}…`;
  }

  /** The rows of the input area for the current screen style. */
  private area(): string[] {
    const busy = this.hooks.isBusy();
    const text = this.boxText();
    const rule = '─'.repeat(Math.max(20, this.columns() - 1));
    switch (this.screen) {
      case 'claude': {
        const box = text || (this.queue.length ? QUEUED_HINT : '');
        return [rule, `❯ ${box}`, rule, busy ? '  esc to interrupt' : text ? '' : '  ? for shortcuts'];
      }
      case 'codex':
        return [...(busy ? ['• Working (1s • esc to interrupt)', ''] : []), `› ${text || 'Ask Codex to do anything'}`, '', text ? '' : '  ? for shortcuts'];
      case 'pi':
        return [...(busy ? [' ⠼ Working...', ''] : []), rule, text, rule, '~/work', '↑0 ↓0 $0.000 0.0%/128k (auto)        (fake) test-model'];
      case 'opencode':
        return [
          `┃  ${text || 'Ask anything… "Fix broken tests"'}`,
          '┃',
          '┃  Build · Sim model Fake',
          '',
          busy ? '  ⬝⬝⬝⬝ esc interrupt' : '                 tab agents  ctrl+p commands',
        ];
      default:
        return [`> ${text}`];
    }
  }

  private redraw(): void {
    const rows = this.area();
    this.out.write(`${this.clearArea()}${rows.join('\r\n')}`);
    this.areaRows = rows.length;
  }

  /** Redraws the input area (the busy state changed). */
  refresh(): void {
    this.redraw();
  }

  /** Handles raw input from the terminal. */
  feed(chunk: string): void {
    for (const event of decodeInput(this.decoder, chunk)) {
      if (this.mode === 'ignore') continue;
      if (event.type === 'text') this.buffer += event.text;
      else if (event.type === 'paste') {
        this.buffer += event.text;
        this.pasteBlocks++;
        this.pasteCount++;
      } else if (event.type === 'backspace') this.buffer = this.buffer.slice(0, -1);
      else if (event.type === 'enter') this.submit();
    }
    this.redraw();
  }

  private submit(): void {
    if (this.mode === 'typed' || !this.buffer) return;
    const text = this.buffer;
    const blocks = this.pasteBlocks;
    this.buffer = '';
    this.pasteBlocks = 0;
    if (this.mode === 'queue' && this.hooks.isBusy()) {
      this.queue.push(text);
      if (this.screen === 'pi') this.print(`Steering: ${this.shown(text)}`);
      else if (this.screen === 'opencode') this.print(`  ${this.shown(text)} QUEUED`);
      else if (this.screen === 'claude') this.print(`  ❯ ${this.shown(text)}`);
      else {
        this.print(`queued: ${this.shown(text)}`);
        this.print(`  ${this.queue.length} queued message(s) · ${QUEUED_HINT}`);
      }
      return;
    }
    this.takeNow(text, blocks);
  }

  private takeNow(text: string, blocks: number): void {
    this.print(`${this.screen === 'codex' ? '›' : this.screen === 'claude' ? '❯' : '>'} ${this.shown(text)}`);
    this.print(`input: ${blocks} paste block(s), ${text.split('\n').length} line(s), ${text.length} chars`);
    this.hooks.take(text);
  }

  /** Called when the agent turns idle: takes the oldest queued message, if any. */
  onIdle(): void {
    const next = this.queue.shift();
    if (next !== undefined) this.takeNow(next, 0);
    else this.redraw();
  }
}
