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

// What is never quoted into a one-line message as it is: the controls above, line and
// paragraph separators, bidi overrides/isolates, and U+FFFD (an undecodable byte).
const UNQUOTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/g;
// C0 controls but tab, LF and CR, and DEL: bytes no text file holds.
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Untrusted text as ONE short inert line (reasons, notes, errors, stderr of a peer): every
 * control character, line/paragraph separator, bidi override and U+FFFD becomes `replacement`
 * (a space by default), runs of blanks collapse to one, the ends are trimmed, and the result is
 * cut to `max` characters (code points), the last one `…` when cut. Pure.
 */
export function flattenLine(text: string, max = Infinity, replacement = ' '): string {
  const flat = text.replace(UNQUOTABLE, replacement).replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('')}…` : flat;
}

/** `text` with every character {@link flattenLine} replaces shown as `replacement` (`?`), nothing else changed. Pure. */
export function maskUnquotable(text: string, replacement = '?'): string {
  return text.replace(UNQUOTABLE, replacement);
}

/** `text` with every control character (C0, DEL, C1) removed. Pure. */
export function stripControls(text: string): string {
  return text.replace(CONTROL, '');
}

/** True when `text` holds a byte no text file holds (C0 controls other than tab/LF/CR, DEL): it is binary. Pure. */
export function looksBinary(text: string): boolean {
  return BINARY.test(text);
}

/** True when `ch` (one character) is a control character (C0, DEL; with `c1`, also 0x80–0x9f). Pure. */
export function isControlCharacter(ch: string, c1 = true): boolean {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f || (c1 && code >= 0x80 && code <= 0x9f);
}

/** True when `text` contains a control character (used to refuse messages: a send never types a control character into a pane). */
export function hasControlCharacters(text: string, allowNewlines = false): boolean {
  const stripped = allowNewlines ? text.replace(/\r?\n/g, '') : text;
  return [...stripped].some((ch) => isControlCharacter(ch));
}
