/**
 * The YAML plumbing of the roster parser (fleet/roster.ts): key lookup through aliases and
 * merge keys, errors as `<file>:<line>:<column>: <message>`, typed scalar reads. Pure.
 */
import type { Node as YamlNode, YAMLMap } from 'yaml';
import { yaml } from '../lib/yaml.js';

/**
 * `pick(map, ...keys)`: the first present key among spellings (snake_case, camelCase) of a
 * roster key, with aliases (`runtime: *rt`) resolved and YAML merge keys (`<<: *base`,
 * `<<: [*a, *b]`, the map's own keys first, then each source in order) looked through.
 */
function picker(doc: import('yaml').Document.Parsed): (map: YAMLMap, ...keys: string[]) => YamlNode | undefined {
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  const deref = (node: YamlNode | undefined | null): YamlNode | undefined => {
    let n: unknown = node ?? undefined;
    for (let i = 0; i < 8 && isAlias(n); i++) n = (n as import('yaml').Alias).resolve(doc);
    return n as YamlNode | undefined;
  };
  const pickIn = (map: YAMLMap, keys: string[], depth: number): YamlNode | undefined => {
    for (const key of keys) {
      const node = deref(map.get(key, true) as YamlNode | undefined);
      if (node !== undefined && node !== null) return node;
    }
    if (depth >= 8) return undefined;
    for (const pair of map.items) {
      const k = pair.key as YamlNode | null;
      if (!(isScalar(k) && (typeof k.value === 'symbol' || k.value === '<<'))) continue;
      const value = deref(pair.value as YamlNode | null);
      const sources = isSeq(value) ? value.items.map((i) => deref(i as YamlNode)) : [value];
      for (const source of sources) {
        if (!isMap(source)) continue;
        const found = pickIn(source, keys, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return (map, ...keys) => pickIn(map, keys, 0);
}

/** What the section parsers of the roster parser share: the document, its key picker and the error collector. */
export interface RosterContext {
  doc: import('yaml').Document.Parsed;
  file: string;
  lineCounter: import('yaml').LineCounter;
  /** The value of the first of `keys` present in `map` (aliases and merge keys resolved). */
  pick: (map: YAMLMap, ...keys: string[]) => YamlNode | undefined;
  /** Records `<file>:<line>:<column>: <message>` at `node` (line 1 column 1 without one). */
  at: (node: YamlNode | undefined | null, message: string) => void;
  /** A string value, null when absent or null; a wrong type is an error (and null). */
  optString: (node: YamlNode | undefined, what: string) => string | null;
}

/** Builds the {@link RosterContext} of a parsed roster; errors land in `errors`. */
export function rosterContext(doc: import('yaml').Document.Parsed, lineCounter: import('yaml').LineCounter, file: string, errors: string[]): RosterContext {
  const { isScalar } = yaml();
  const at = (node: YamlNode | undefined | null, message: string): void => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    errors.push(`${file}:${line}:${col}: ${message}`);
  };
  const optString = (node: YamlNode | undefined, what: string): string | null => {
    if (node === undefined) return null;
    if (isScalar(node)) {
      if (node.value === null) return null;
      if (typeof node.value === 'string') return node.value;
      if (typeof node.value === 'number' || typeof node.value === 'boolean') {
        // A bare number/boolean where a string is expected (e.g. `host: 10`) is a type error.
        at(node, `${what} must be a string, got ${typeof node.value} ${String(node.value)}`);
        return null;
      }
    }
    at(node, `${what} must be a string`);
    return null;
  };
  return { doc, file, lineCounter, pick: picker(doc), at, optString };
}

/** True when a section is absent or written as a bare key (`tmux:` with no value). */
export function isAbsent(node: YamlNode | undefined): node is undefined {
  return node === undefined || (yaml().isScalar(node) && node.value === null);
}
