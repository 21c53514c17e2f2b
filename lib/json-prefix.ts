/**
 * JSON from a prefix (pure): what a bounded read of a larger JSON document still says. Used
 * for hook events too large to read whole (a `Write` of a big file): the event's name and
 * tool come before its bulky input, so the first bytes are enough to know what happened.
 */

/** What {@link parseJsonPrefix} recovered. */
export interface JsonPrefix {
  /** The value with every member complete before the cut; `undefined` when even the first scalar was cut. */
  value: unknown;
  /** True when the text held the whole value (then `value` equals `JSON.parse(text)`). */
  complete: boolean;
}

const CUT = Symbol('cut');
const BAD = Symbol('bad');

/**
 * Parses a JSON value from `text`, which may be only the first part of a document. Objects and
 * arrays keep the members that are complete before the cut (a container cut inside keeps its
 * complete members and ends there); a member whose key or scalar value is cut is dropped.
 * Returns null when the text is not the start of JSON (a syntax error before the cut) or nests
 * deeper than `maxDepth` (default 64; bounds the recursion). A bare scalar running to the end
 * of the text counts as cut (it may be). Never throws.
 */
export function parseJsonPrefix(text: string, maxDepth = 64): JsonPrefix | null {
  let i = 0;
  let cut = false;
  const skip = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const more = () => {
    skip();
    if (i >= text.length) throw CUT;
  };
  const decode = (token: string): unknown => {
    try {
      return JSON.parse(token) as unknown;
    } catch {
      throw BAD;
    }
  };
  const string = (): string => {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) throw CUT;
    const token = text.slice(i, j + 1);
    i = j + 1;
    return decode(token) as string;
  };
  const scalar = (): unknown => {
    const start = i;
    while (i < text.length && /[0-9a-zA-Z+\-.]/.test(text[i])) i++;
    // A scalar running to the end may be cut (`12` of `123`, `tr` of `true`).
    if (i >= text.length) throw CUT;
    if (i === start) throw BAD;
    return decode(text.slice(start, i));
  };
  const container = (depth: number, close: '}' | ']'): unknown => {
    if (depth >= maxDepth) throw BAD;
    const out: unknown[] | Record<string, unknown> = close === ']' ? [] : {};
    i++;
    try {
      more();
      if (text[i] === close) {
        i++;
        return out;
      }
      for (;;) {
        more();
        let key = '';
        if (close === '}') {
          if (text[i] !== '"') throw BAD;
          key = string();
          more();
          if (text[i] !== ':') throw BAD;
          i++;
        }
        const v = value(depth + 1);
        if (Array.isArray(out)) out.push(v);
        else Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        if (cut) return out;
        more();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return out;
        } else throw BAD;
      }
    } catch (error) {
      if (error !== CUT) throw error;
      cut = true;
      return out;
    }
  };
  const value = (depth: number): unknown => {
    more();
    if (text[i] === '{') return container(depth, '}');
    if (text[i] === '[') return container(depth, ']');
    if (text[i] === '"') return string();
    return scalar();
  };
  try {
    const v = value(0);
    if (cut) return { value: v, complete: false };
    skip();
    return i >= text.length ? { value: v, complete: true } : null;
  } catch (error) {
    if (error === CUT) return { value: undefined, complete: false };
    return null;
  }
}
