/**
 * Typed readers of the program's JSON output for tests: the caller names the type the program
 * declares for that output (`Snapshot`, `AnswerReceipt`, a card…), so a test reads fields the
 * compiler checks instead of `any`. Nothing is validated beyond JSON syntax: the program's own
 * types are the contract under test (test/helpers/schema.ts validates snapshots against the schema).
 */
import fs from 'node:fs';

/**
 * Parses `text` as one JSON document of type `T`. Throws a one-line error naming `what` (the
 * command or file it came from), the parse error and the first 200 characters of the text.
 */
export function readJson<T>(text: string, what = 'output'): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${what} is not JSON (${(error as Error).message}): ${JSON.stringify(text.slice(0, 200))}`, { cause: error });
  }
}

/** Reads and parses JSON file `file` as type `T` (errors as {@link readJson}, naming the file). */
export function readJsonFile<T>(file: string): T {
  return readJson<T>(fs.readFileSync(file, 'utf8'), file);
}

/** Parses JSON Lines (one document a non-empty line) as `T[]`; errors as {@link readJson}. */
export function readJsonLines<T>(text: string, what = 'output'): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => readJson<T>(l, what));
}

/** A JSON object of unknown shape (settings files the program merges into): keys to values. */
export type JsonObject = { [key: string]: JsonValue };
/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** One hook as Claude Code's settings.json and Codex's hooks.json hold it. */
export interface HookEntry {
  type: string;
  command: string;
  timeout?: number;
}

/**
 * A Claude Code settings.json or Codex hooks.json as tests read it back after `hooks install`:
 * hook groups per event name (each an optional matcher and its hooks), the operator's other keys kept.
 */
export interface HooksFile {
  hooks: Record<string, Array<{ matcher?: string; hooks: HookEntry[] }>>;
  [key: string]: unknown;
}
