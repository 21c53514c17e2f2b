/**
 * The operator's screen rules override, `<home>/fleet/screen-rules.yaml`: parsed and checked
 * ({@link parseScreenRulesYaml}: YAML, the shape of schema/screen-rules.schema.json, every
 * pattern compiles) and kept per Mosaic home ({@link ScreenRulesCache}: re-read only when the
 * file changes). Its entries come before the shipped rules (fleet/screen-rules.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from '../lib/version.js';
import { compileScreenRules, shippedScreenRules, type CompiledScreenRules } from './screen.js';
import type { ScreenRulesFile } from './screen-rules.js';
import { yaml } from '../lib/yaml.js';
import { messageOf } from '../lib/errors.js';

/** Path of the operator's override: `<mosaicHome>/fleet/screen-rules.yaml`. */
export function screenRulesOverridePath(mosaicHome: string): string {
  return path.join(mosaicHome, 'fleet', 'screen-rules.yaml');
}

/**
 * Parses and checks an override file's text: YAML syntax, the shape of
 * `schema/screen-rules.schema.json` (ajv), every pattern compiles. Returns the compiled rules,
 * or ONE clear error `<file>:<line>: <what> — the shipped screen rules stay in use`. Never throws.
 */
export function parseScreenRulesYaml(text: string, file: string): { rules: CompiledScreenRules; error: null } | { rules: null; error: string } {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const fail = (offset: number, what: string) =>
    ({ rules: null, error: `${file}:${lineCounter.linePos(offset).line}: ${what} — the shipped screen rules stay in use` }) as const;
  const syntax = doc.errors[0];
  if (syntax) return fail(syntax.pos[0], `YAML syntax: ${syntax.message.split('\n')[0] ?? ''}`);
  const data = doc.toJS() as unknown;
  const validate = rulesValidator();
  if (!validate(data)) {
    const e = validate.errors?.[0];
    const segs = (e?.instancePath ?? '')
      .split('/')
      .slice(1)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    const node = doc.getIn(segs, true) as { range?: [number, number, number] } | undefined;
    const where = segs.length
      ? segs
          .map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`))
          .join('')
          .replace(/^\./, '')
      : 'file';
    const extra =
      e?.keyword === 'additionalProperties'
        ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
        : e?.keyword === 'enum'
          ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
          : '';
    return fail(node?.range?.[0] ?? 0, `${where} ${e?.message ?? 'is not valid'}${extra}`);
  }
  try {
    return { rules: compileScreenRules(data as ScreenRulesFile, 'override'), error: null };
  } catch (error) {
    // Point at the pattern that failed: `runtimes[0].busy[1]: …`.
    const msg = messageOf(error);
    const segs = (/^([^:]+):/.exec(msg)?.[1] ?? '')
      .split(/[.[\]]+/)
      .filter(Boolean)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const node = (segs.length ? doc.getIn(segs, true) : null) as { range?: [number, number, number] } | null;
    return fail(node?.range?.[0] ?? 0, msg);
  }
}

let validatorCache: (((data: unknown) => boolean) & { errors?: { instancePath: string; keyword: string; message?: string; params: unknown }[] | null }) | null =
  null;

/** ajv validator of schema/screen-rules.schema.json, compiled once per process (only when an override exists). */
function rulesValidator() {
  if (validatorCache) return validatorCache;
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv') as typeof import('ajv').default;
  const schemaPath = findSchema();
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as object;
  validatorCache = new Ajv({ allErrors: false, strict: false }).compile(schema) as unknown as typeof validatorCache;
  return validatorCache!;
}

/** schema/screen-rules.schema.json of the installed package (package.json `files` ships `schema/`). */
function findSchema(): string {
  return path.join(packageRoot(), 'schema', 'screen-rules.schema.json');
}

/** Rules in use and why the override is not (one clear line), as {@link ScreenRulesCache.get} returns them. */
export interface ScreenRulesState {
  rules: CompiledScreenRules;
  /** The override file when it exists and is in use, else null. */
  override: string | null;
  /** `<file>:<line>: <what> — the shipped screen rules stay in use`, or null. */
  error: string | null;
}

/**
 * The screen rules in use for one Mosaic home: the override `<home>/fleet/screen-rules.yaml`
 * (its entries first) over the shipped rules. The file is stat'ed on each `get()` and re-read
 * only when it changed (mtime, ctime, size); a bad file gives one clear error and the shipped
 * rules alone. Never throws.
 */
export class ScreenRulesCache {
  private key: string | null = null;
  private state: ScreenRulesState = { rules: shippedScreenRules(), override: null, error: null };

  /** `file`: the override path, normally {@link screenRulesOverridePath}(`<home>`). */
  constructor(readonly file: string) {}

  /** The rules in use now (stat every call, re-read on change; at most 256 KB read). Never throws. */
  get(): ScreenRulesState {
    let key: string;
    try {
      const st = fs.statSync(this.file);
      key = `${st.mtimeMs}:${st.ctimeMs}:${st.size}`;
    } catch {
      key = 'missing';
    }
    if (key === this.key) return this.state;
    this.key = key;
    if (key === 'missing') {
      this.state = { rules: shippedScreenRules(), override: null, error: null };
      return this.state;
    }
    let text: string;
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        if (!fs.fstatSync(fd).isFile()) throw new Error('not a regular file');
        const buf = Buffer.alloc(256 * 1024);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        if (n === buf.length) throw new Error('larger than 256 KB');
        text = buf.subarray(0, n).toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      this.state = {
        rules: shippedScreenRules(),
        override: null,
        error: `${this.file}: unreadable: ${messageOf(error)} — the shipped screen rules stay in use`,
      };
      return this.state;
    }
    const parsed = parseScreenRulesYaml(text, this.file);
    this.state = parsed.rules
      ? { rules: { sets: [...parsed.rules.sets, ...shippedScreenRules().sets] }, override: this.file, error: null }
      : { rules: shippedScreenRules(), override: null, error: parsed.error };
    return this.state;
  }
}

const homeRules = new Map<string, ScreenRulesCache>();

/**
 * The screen rules in use for `mosaicHome` (override over shipped, as the snapshot reads
 * screens), from one {@link ScreenRulesCache} per home for the process: an action that checks
 * a prompt id the snapshot showed must read the screen with the SAME rules. Never throws.
 */
export function screenRulesForHome(mosaicHome: string): CompiledScreenRules {
  const file = screenRulesOverridePath(mosaicHome);
  let cache = homeRules.get(file);
  if (!cache) homeRules.set(file, (cache = new ScreenRulesCache(file)));
  return cache.get().rules;
}
