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
  const parser = new PrefixParser(text, maxDepth);
  try {
    const v = parser.value(0);
    if (parser.cut) return { value: v, complete: false };
    parser.skip();
    return parser.atEnd() ? { value: v, complete: true } : null;
  } catch (error) {
    if (error === CUT) return { value: undefined, complete: false };
    return null;
  }
}

/** The recursive-descent reader behind {@link parseJsonPrefix}: throws CUT at the end of the text, BAD on a syntax error. */
class PrefixParser {
  /** Index of the next character. */
  private i = 0;
  /** True once a container stopped at the cut (everything after it is missing). */
  cut = false;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  /** True when every character was read. */
  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** Skips JSON whitespace. */
  skip(): void {
    while (this.i < this.text.length && ' \n\r\t'.includes(this.text.charAt(this.i))) this.i++;
  }

  /** Skips whitespace; throws CUT when nothing follows. */
  private more(): void {
    this.skip();
    if (this.atEnd()) throw CUT;
  }

  /** The next character ('' at the end). */
  private peek(): string {
    return this.text.charAt(this.i);
  }

  private static decode(token: string): unknown {
    try {
      return JSON.parse(token) as unknown;
    } catch {
      throw BAD;
    }
  }

  private string(): string {
    const { text } = this;
    let j = this.i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) throw CUT;
    const token = text.slice(this.i, j + 1);
    this.i = j + 1;
    return PrefixParser.decode(token) as string;
  }

  private scalar(): unknown {
    const start = this.i;
    while (this.i < this.text.length && /[0-9a-zA-Z+\-.]/.test(this.peek())) this.i++;
    // A scalar running to the end may be cut (`12` of `123`, `tr` of `true`).
    if (this.atEnd()) throw CUT;
    if (this.i === start) throw BAD;
    return PrefixParser.decode(this.text.slice(start, this.i));
  }

  /** An object member's key and its `:`; '' for an array member. */
  private memberKey(close: '}' | ']'): string {
    if (close === ']') return '';
    if (this.peek() !== '"') throw BAD;
    const key = this.string();
    this.more();
    if (this.peek() !== ':') throw BAD;
    this.i++;
    return key;
  }

  /** Reads members into `out` up to and including `close`; returns early when a member stopped at the cut (`cut` set). */
  private members(out: unknown[] | Record<string, unknown>, depth: number, close: '}' | ']'): void {
    for (;;) {
      this.more();
      const key = this.memberKey(close);
      const v = this.value(depth + 1);
      if (Array.isArray(out)) out.push(v);
      else Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      if (this.cut) return;
      this.more();
      const next = this.peek();
      this.i++;
      if (next === close) return;
      if (next !== ',') throw BAD;
    }
  }

  private container(depth: number, close: '}' | ']'): unknown {
    if (depth >= this.maxDepth) throw BAD;
    const out: unknown[] | Record<string, unknown> = close === ']' ? [] : {};
    this.i++;
    try {
      this.more();
      if (this.peek() === close) {
        this.i++;
        return out;
      }
      this.members(out, depth, close);
      return out;
    } catch (error) {
      if (error !== CUT) throw error;
      this.cut = true;
      return out;
    }
  }

  /** The value at the cursor (at nesting `depth`). */
  value(depth: number): unknown {
    this.more();
    const c = this.peek();
    if (c === '{') return this.container(depth, '}');
    if (c === '[') return this.container(depth, ']');
    if (c === '"') return this.string();
    return this.scalar();
  }
}
