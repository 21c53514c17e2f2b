/**
 * The console's optional alert for an attention transition (docs/transitions.md): a terminal bell, a
 * desktop notification through the terminal (OSC 777 `notify`, understood by urxvt, foot,
 * ghostty, WezTerm…; OSC 9, understood by iTerm2, Windows Terminal, ConEmu, ghostty…; a terminal
 * that knows neither ignores them, tmux swallows them and flags the bell), and `notify-send`
 * when it is on PATH. Off by default: `--notify-bell` or `MOSAIC_TOP_NOTIFY_BELL=1` turns it on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { transitionChange, transitionSubject, type Transition } from './diff.js';
import { maskUnquotable } from '../../lib/sanitize.js';

/** True when the alert is asked for: the flag, else `MOSAIC_TOP_NOTIFY_BELL` set to 1/true/yes/on. */
export function alertRequested(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag) return true;
  return /^(1|true|yes|on)$/i.test(env.MOSAIC_TOP_NOTIFY_BELL ?? '');
}

/** Text safe inside an OSC string: no control characters, no `;` (OSC 777's field separator), bounded. */
function oscText(text: string, max = 200): string {
  return maskUnquotable(text, ' ').replace(/;/g, ' ').slice(0, max);
}

/** Title and body of the alert for `t`: `mosaic-top: coder1` / `working → dead: no pane …`. */
export function alertText(t: Transition): { title: string; body: string } {
  return { title: `mosaic-top: ${transitionSubject(t)}`, body: `${transitionChange(t)}${t.evidence.length ? `: ${t.evidence[0]}` : ''}` };
}

/** The bytes written to the terminal: BEL, then OSC 777 and OSC 9 notifications (BEL-terminated). */
export function terminalAlertBytes(title: string, body: string): string {
  const ti = oscText(title);
  const bo = oscText(body);
  return `\x07\x1b]777;notify;${ti};${bo}\x07\x1b]9;${ti}: ${bo}\x07`;
}

/** Full path of `program` on `PATH`, or null. */
export function findOnPath(program: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, program);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Options of {@link createAlerter}. */
export interface AlerterOptions {
  /** Writes to the terminal (default process.stdout). */
  write?: (bytes: string) => void;
  /** `notify-send` path (default: looked up on PATH once; null = none). */
  notifySend?: string | null;
  /** Kill `notify-send` after this many ms (default 5000). */
  timeoutMs?: number;
}

/** Rings for one transition: returns at once; `notify-send` (if any) runs in the background, at most 2 at once. */
export function createAlerter(opts: AlerterOptions = {}): { alert: (t: Transition) => void; readonly sent: number } {
  const write =
    opts.write ??
    ((b: string) => {
      process.stdout.write(b);
    });
  const notifySend = opts.notifySend === undefined ? findOnPath('notify-send') : opts.notifySend;
  const timeoutMs = opts.timeoutMs ?? 5000;
  let running = 0;
  let sent = 0;
  return {
    get sent() {
      return sent;
    },
    alert(t) {
      const { title, body } = alertText(t);
      sent++;
      write(terminalAlertBytes(title, body));
      if (!notifySend || running >= 2) return;
      running++;
      void execa(notifySend, ['--app-name=mosaic-top', oscText(title), oscText(body, 400)], { stdio: 'ignore', timeout: timeoutMs, reject: false })
        .catch(() => {})
        .finally(() => {
          running--;
        });
    },
  };
}
