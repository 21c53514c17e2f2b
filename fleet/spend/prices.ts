/**
 * Prices of tokens, USD per million, from `@pydantic/genai-prices` (bundled data, never fetched
 * at run time) with per-model overrides in `<home>/fleet/prices.yaml`:
 *
 * ```yaml
 * models:
 *   claude-opus-4-8: { input: 5.00, output: 25.00, cache_read: 0.50, cache_write: 6.25 }
 * ```
 *
 * An override needs `input` and `output`; a missing `cache_read` / `cache_write` costs as much
 * as `input` (never under-counted). A bad file gives a one-line error `<file>:<line>: <what>`
 * and the library prices stay. The library is asked once per model (its lookup is too slow
 * per request); tiered prices (a higher rate above N input tokens of a request, as the library
 * describes them) are applied per request here, the way the library applies them.
 */
import { createRequire } from 'node:module';
import { readBoundedFile } from '../../lib/bounded-read.js';
import { messageOf } from '../../lib/errors.js';
import { yaml } from '../../lib/yaml.js';
import type { LineCounter, Pair, Node } from 'yaml';
import type { SpendRuntime, UsageEvent } from './types.js';

type GenaiPrices = typeof import('@pydantic/genai-prices');
let genaiPrices: GenaiPrices | null = null;

/**
 * `@pydantic/genai-prices`, required on the first model looked up: its module is ~0.5 MB of price
 * data, which a start that prices nothing (`--once` on a fleet with no usage records) never loads.
 */
function genai(): GenaiPrices {
  genaiPrices ??= createRequire(import.meta.url)('@pydantic/genai-prices') as GenaiPrices;
  return genaiPrices;
}

/** One price: a flat rate, or a base with higher rates above input-token thresholds. */
export type Rate = number | { base: number; tiers: { start: number; price: number }[] };

/** A model's prices, USD per million tokens. */
export interface ModelRates {
  input: Rate;
  output: Rate;
  cacheRead: Rate;
  cacheWrite: Rate;
  /** One-hour cache writes (Anthropic); falls back to `cacheWrite`. */
  cacheWrite1h: Rate;
  /** Where the prices come from: `prices.yaml` or `genai-prices:<provider>/<model id>`. */
  source: string;
}

/** Provider a runtime's model names belong to (helps the library's lookup). */
const PROVIDER: Record<SpendRuntime, string | undefined> = { claude: 'anthropic', codex: 'openai', pi: undefined, opencode: undefined };

/** Most bytes of prices.yaml read. */
const PRICES_READ_LIMIT = 256 * 1024;

function rateAt(rate: Rate, inputTotal: number): number {
  if (typeof rate === 'number') return rate;
  let price = rate.base;
  for (const t of rate.tiers) if (inputTotal > t.start) price = t.price;
  return price;
}

function libraryRates(model: string, runtime: SpendRuntime): ModelRates | null {
  let r: ReturnType<GenaiPrices['calcPrice']>;
  try {
    const { calcPrice } = genai();
    const providerId = PROVIDER[runtime];
    r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId ? { providerId } : {});
    if (!r && providerId) r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model);
  } catch {
    r = null;
  }
  if (!r) return null;
  const p = r.model_price as Record<string, Rate | undefined>;
  const input = p.input_mtok;
  if (input === undefined || p.output_mtok === undefined) return null;
  const cacheWrite = p.cache_write_mtok ?? input;
  return {
    input,
    output: p.output_mtok,
    cacheRead: p.cache_read_mtok ?? input,
    cacheWrite,
    cacheWrite1h: p.cache_write_1h_mtok ?? cacheWrite,
    source: `genai-prices:${r.provider.id}/${r.model.id}`,
  };
}

/** Prices in force: the overrides read from prices.yaml, then the library; memoised per model. */
export class PriceBook {
  private readonly memo = new Map<string, ModelRates | null>();

  /** `overrides` by model name; `error` = the prices.yaml problem, if any (library prices stay). */
  constructor(
    readonly overrides: Map<string, ModelRates> = new Map(),
    readonly error: string | null = null,
  ) {}

  /** The rates of `model` as recorded by `runtime`, or null when no price is known. */
  rates(model: string, runtime: SpendRuntime): ModelRates | null {
    const o = this.overrides.get(model);
    if (o) return o;
    const key = `${runtime}\0${model}`;
    if (!this.memo.has(key)) this.memo.set(key, libraryRates(model, runtime));
    return this.memo.get(key) ?? null;
  }

  /**
   * USD cost of one request, or null when its model has no price. A tier applies when the
   * request's whole input (uncached + cache read + cache write) exceeds its start.
   */
  cost(event: UsageEvent, runtime: SpendRuntime): number | null {
    const r = this.rates(event.model, runtime);
    if (!r) return null;
    const t = event.tokens;
    const inputTotal = t.input + t.cacheRead + t.cacheWrite;
    const w1h = Math.min(event.cacheWrite1h, t.cacheWrite);
    return (
      (t.input * rateAt(r.input, inputTotal) +
        t.output * rateAt(r.output, inputTotal) +
        t.cacheRead * rateAt(r.cacheRead, inputTotal) +
        (t.cacheWrite - w1h) * rateAt(r.cacheWrite, inputTotal) +
        w1h * rateAt(r.cacheWrite1h, inputTotal)) /
      1e6
    );
  }
}

function lineOf(counter: LineCounter, node: Node | Pair | null | undefined): number {
  const range = node && 'range' in node ? node.range : null;
  return range ? counter.linePos(range[0]).line : 1;
}

/**
 * Parses prices.yaml text (see the module doc). Returns the overrides, or the first problem as
 * `<file>:<line>: <what>` (then no override is used).
 */
export function parsePriceOverrides(text: string, file: string): { overrides: Map<string, ModelRates>; error: string | null } {
  const { LineCounter, parseDocument, isMap, isScalar } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const fail = (line: number, what: string) => ({ overrides: new Map<string, ModelRates>(), error: `${file}:${line}: ${what}` });
  if (doc.errors.length) {
    const e = doc.errors[0];
    return fail(e?.linePos?.[0]?.line ?? 1, e?.message.split('\n')[0] ?? 'not YAML');
  }
  if (doc.contents === null) return { overrides: new Map(), error: null };
  if (!isMap(doc.contents)) return fail(lineOf(counter, doc.contents), 'expected a mapping with `models:`');
  const models = doc.contents.get('models', true) as Node | undefined;
  if (models === undefined || (isScalar(models) && models.value === null)) return { overrides: new Map(), error: null };
  if (!isMap(models)) return fail(lineOf(counter, models), '`models` must map model names to {input, output, cache_read, cache_write}');
  const out = new Map<string, ModelRates>();
  for (const pair of models.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = lineOf(counter, pair.key as Node);
    if (!name) return fail(line, 'a model name must be a string');
    if (!isMap(pair.value)) return fail(line, `${name}: expected {input, output, cache_read, cache_write} (USD per million tokens)`);
    const v: Record<string, number> = {};
    for (const field of pair.value.items) {
      const key = isScalar(field.key) ? String(field.key.value) : '';
      const fline = lineOf(counter, field.key as Node);
      if (!['input', 'output', 'cache_read', 'cache_write'].includes(key))
        return fail(fline, `${name}: unknown price "${key}" (input, output, cache_read, cache_write)`);
      const n = isScalar(field.value) ? field.value.value : null;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return fail(fline, `${name}.${key}: expected a non-negative number (USD per million tokens)`);
      v[key] = n;
    }
    if (v.input === undefined || v.output === undefined) return fail(line, `${name}: input and output are required`);
    const cacheWrite = v.cache_write ?? v.input;
    out.set(name, { input: v.input, output: v.output, cacheRead: v.cache_read ?? v.input, cacheWrite, cacheWrite1h: cacheWrite, source: 'prices.yaml' });
  }
  return { overrides: out, error: null };
}

/** Reads `file` (absent ⇒ no overrides) into a {@link PriceBook}. Never throws: problems land in `error`. */
export function loadPriceBook(file: string): PriceBook {
  let text: string;
  try {
    const read = readBoundedFile(file, { maxBytes: PRICES_READ_LIMIT });
    if (!read) return new PriceBook();
    text = read.bytes.toString('utf8');
  } catch (error) {
    return new PriceBook(new Map(), `${file}:1: unreadable (${messageOf(error)}): library prices in use`);
  }
  const { overrides, error } = parsePriceOverrides(text, file);
  return new PriceBook(overrides, error);
}
