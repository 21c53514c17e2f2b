/**
 * Terminal safety for untrusted strings (nothing an agent wrote may reach the operator's terminal as a control sequence): session names, pane titles and captures,
 * card titles and bodies, heartbeat notes. Nothing from outside reaches the tty raw.
 */

// C0 controls (incl. ESC, BEL, CR, LF, TAB), DEL and C1 controls (0x80–0x9f, e.g. the 8-bit CSI 0x9b).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides/isolates can reorder what the operator reads (Trojan Source).
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

function caret(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x7f) return '^?';
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  return `\\x${code.toString(16)}`;
}

/**
 * Makes one line of untrusted text inert: every control character (ESC, BEL, CR, LF, C1, …)
 * becomes visible caret notation (`ESC` ⇒ `^[`), so an OSC or CSI sequence shows as text and is
 * never interpreted; bidi overrides are dropped. Returns a single line.
 */
export function sanitizeLine(text: string): string {
  return text.replace(BIDI, '').replace(CONTROL, caret);
}

/**
 * Like {@link sanitizeLine} but keeps line breaks (for pane captures and card bodies):
 * splits on `\n` (dropping a trailing `\r`), sanitizes each line, expands tabs to spaces.
 */
export function sanitizeLines(text: string): string[] {
  return text.split('\n').map((line) => sanitizeLine(line.replace(/\r$/, '').replace(/\t/g, '    ')));
}

/** True when `text` contains a control character (used to refuse messages: a send never types a control character into a pane). */
export function hasControlCharacters(text: string, allowNewlines = false): boolean {
  const stripped = allowNewlines ? text.replace(/\r?\n/g, '') : text;
  CONTROL.lastIndex = 0;
  return /[\u0000-\u001f\u007f-\u009f]/.test(stripped);
}
