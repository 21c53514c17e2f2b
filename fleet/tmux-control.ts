/**
 * A tmux control-mode client (`tmux -C attach`, tmux(1) CONTROL MODE) kept open on one socket:
 * commands are written to its stdin and their output read back between `%begin` and
 * `%end`/`%error` (no subprocess per command), and the server's notifications (`%sessions-changed`,
 * `%window-add`, `%window-close`, `%unlinked-window-*`, `%pane-mode-changed`, `%exit`, …) are
 * pushed to a callback as they happen.
 *
 * The client is attached with `-f ignore-size,no-output`: it never takes part in sizing a
 * window (an operator's terminal keeps its size) and receives no `%output` of the panes. It
 * needs a session to attach to: on a server without sessions `start` fails and the caller
 * falls back to plain `tmux list-panes` subprocesses. When the attached session goes away the
 * client exits (`%exit`); so does it when the server dies or when it is killed: `onExit` is
 * called once, every pending command fails, and the caller starts a new one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { recordSpawn, tmuxEnv, tmuxSocketArgs } from './exec.js';

/** Answer of one command sent through the control client. */
export interface ControlAnswer {
  ok: boolean;
  /** Output lines of the command (without the `%begin`/`%end` guards). */
  lines: string[];
  /** Why it failed: tmux's `%error` text, a timeout, the client gone. */
  error: string | null;
}

/** Options of {@link TmuxControlClient}. */
export interface TmuxControlOptions {
  /** Session to attach to (exact name); default: tmux's choice (the most recently used). */
  session?: string | null;
  /** Environment of the client (default {@link tmuxEnv}()). */
  env?: NodeJS.ProcessEnv;
  /** Called with the name of each notification (`sessions-changed`, `window-add`, …), outside command output. */
  onNotify?: (name: string, line: string) => void;
  /** Called once when the client is gone (exited, killed, failed to start). */
  onExit?: (reason: string) => void;
}

interface Pending {
  resolve: (answer: ControlAnswer) => void;
  timer: NodeJS.Timeout;
}

/**
 * Names of the notifications that mean the set of sessions, windows or panes changed
 * (`%session-changed` is about the client's own attached session: not one of them).
 */
export const LAYOUT_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'sessions-changed',
  'session-renamed',
  'window-add',
  'window-close',
  'window-renamed',
  'window-pane-changed',
  'unlinked-window-add',
  'unlinked-window-close',
  'unlinked-window-renamed',
  'layout-change',
  'pane-mode-changed',
]);

/**
 * One control-mode client on a socket. Not started by the constructor: call {@link start}.
 * Commands are answered in the order they were sent (tmux runs a client's commands in order).
 */
export class TmuxControlClient {
  readonly socket: string | null;
  private readonly opts: TmuxControlOptions;
  private child: ChildProcessWithoutNullStreams | null = null;
  private buffered = '';
  /** Output of the block being read; null outside a block. */
  private block: { flags: number; lines: string[] } | null = null;
  private readonly pending: Pending[] = [];
  private exited = false;
  /** Notifications received so far (tests, the bench). */
  notifications = 0;

  constructor(socket: string | null, opts: TmuxControlOptions = {}) {
    this.socket = socket;
    this.opts = opts;
  }

  /** Pid of the tmux client process (null before start or after exit). */
  get pid(): number | null {
    return this.exited ? null : (this.child?.pid ?? null);
  }

  /** True while the client runs. */
  get alive(): boolean {
    return this.child !== null && !this.exited;
  }

  /**
   * Starts the client and waits for its attach to be answered. Resolves true once attached,
   * false when tmux refused (no server, no session: its stderr's first line goes to `onExit`)
   * or did not answer within `timeoutMs` (then the client is killed).
   */
  async start(timeoutMs = 2000): Promise<boolean> {
    if (this.child) return this.alive;
    const session = this.opts.session ? ['-t', `=${this.opts.session}`] : [];
    const args = ['-u', ...tmuxSocketArgs(this.socket), '-C', 'attach-session', '-f', 'ignore-size,no-output', ...session];
    recordSpawn();
    const child = spawn('tmux', args, { env: this.opts.env ?? tmuxEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onData(chunk));
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(0, 2000)));
    child.stdin.on('error', () => {});
    child.on('error', (error) => this.finish(`tmux control client: ${error.message}`));
    child.on('close', (code, signal) => this.finish(stderr.trim().split('\n')[0] || `tmux control client ended (${signal ?? `exit ${code ?? '?'}`})`));
    // The attach itself is answered by the first block (flags 0): a no-op command after it
    // proves the client reads commands.
    const answer = await this.command('display-message -p ok', timeoutMs);
    if (!answer.ok) this.close();
    return answer.ok;
  }

  /**
   * Sends one command line (tmux command syntax: quote arguments with single quotes) and
   * resolves with its output. Never rejects: a timeout (`timeoutMs`, default 2000) or a client
   * that is gone is an answer with `ok: false`.
   */
  command(line: string, timeoutMs = 2000): Promise<ControlAnswer> {
    if (!this.child || this.exited) return Promise.resolve({ ok: false, lines: [], error: 'tmux control client not running' });
    return new Promise<ControlAnswer>((resolve) => {
      const entry: Pending = {
        resolve,
        timer: setTimeout(() => {
          // A command that does not come back means the client cannot be trusted any more.
          this.close();
          resolve({ ok: false, lines: [], error: `tmux control client: no answer after ${timeoutMs} ms` });
        }, timeoutMs),
      };
      this.pending.push(entry);
      this.child!.stdin.write(`${line}\n`);
    });
  }

  /**
   * Detaches the client (stdin closed), killed if still there after 500 ms. Idempotent. The
   * timer is NOT unref'd: a client of a stopped server never leaves by itself, and its pipes
   * keep the process alive, so an unref'd timer would never fire and the program never exit.
   */
  close(): void {
    const child = this.child;
    if (!child || this.exited) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 500);
    child.once('close', () => clearTimeout(timer));
    this.finish('closed');
  }

  private finish(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, lines: [], error: `tmux control client gone: ${reason}` });
    }
    this.opts.onExit?.(reason);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (this.block) {
      // A guard line is `%end|%error <time> <number> <flags>`; the number matches the `%begin`.
      const m = /^%(end|error) \d+ \d+ (\d+)$/.exec(line);
      if (m) {
        const block = this.block;
        this.block = null;
        // Flags bit 0: the command came from this client (not the attach's own block).
        if (Number(m[2]) & 1) this.answer({ ok: m[1] === 'end', lines: block.lines, error: m[1] === 'end' ? null : block.lines.join(' ') || 'tmux: error' });
        return;
      }
      this.block.lines.push(line);
      return;
    }
    const begin = /^%begin \d+ \d+ (\d+)$/.exec(line);
    if (begin) {
      this.block = { flags: Number(begin[1]), lines: [] };
      return;
    }
    if (line.startsWith('%')) {
      this.notifications++;
      const name = line.slice(1).split(' ', 1)[0] ?? '';
      this.opts.onNotify?.(name, line);
    }
  }

  private answer(answer: ControlAnswer): void {
    const p = this.pending.shift();
    if (!p) return;
    clearTimeout(p.timer);
    p.resolve(answer);
  }
}

/** Quotes one argument for a tmux command line (single quotes; a `'` is written as `'\''`). */
export function tmuxQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
