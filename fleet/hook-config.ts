/**
 * `mosaic-top hooks install` as data and pure merges: which runtime configuration file wires an
 * agent to the heartbeat protocol, and how our hook entries are merged into what the operator
 * already has (their hooks are never dropped; a second run changes nothing).
 *
 * - Claude Code: `.claude/settings.json` (`hooks.<Event>[] = {matcher?, hooks: [{type:
 *   "command", command, timeout}]}`), events {@link CLAUDE_HOOK_EVENTS}.
 * - Codex: `$CODEX_HOME/hooks.json`, same shape (Codex reads Claude-style hooks under a
 *   top-level `hooks` key), events {@link CODEX_HOOK_EVENTS}; Codex asks the operator to review
 *   new hooks unless config.toml trusts them (see docs/heartbeat.md).
 * - opencode: a plugin file we own whole ({@link opencodePluginText}).
 * - pi: an extension file we own whole ({@link piExtensionText}).
 *
 * Our entries are recognised by {@link HOOK_COMMAND_MARK} in their command, so an entry written
 * by an older install (another node or bin path) is replaced, not doubled.
 */
import type { HookRuntime } from './hook-events.js';
import { messageOf } from '../lib/errors.js';

/** Text every hook command we write contains; how our entries are told from the operator's. */
export const HOOK_COMMAND_MARK = 'heartbeat-hook --runtime';

/** Seconds a runtime gives our hook before killing it (Claude/Codex `timeout` field). */
export const HOOK_TIMEOUT_SECONDS = 5;

/** One hook event we wire: the event name and, where the runtime filters on it, a matcher. */
export interface HookEventSpec {
  event: string;
  matcher?: string;
}

/** Claude Code events (runtimes.md): start/stop/turns, tool progress, permission prompts, API failures. */
export const CLAUDE_HOOK_EVENTS: readonly HookEventSpec[] = [
  { event: 'SessionStart' },
  { event: 'UserPromptSubmit' },
  { event: 'PostToolUse' },
  { event: 'Stop' },
  { event: 'StopFailure' },
  { event: 'PermissionRequest' },
  { event: 'Notification', matcher: 'permission_prompt' },
];

/** Codex events with hooks (runtimes.md: no Notification, no StopFailure). */
export const CODEX_HOOK_EVENTS: readonly HookEventSpec[] = [
  { event: 'SessionStart' },
  { event: 'UserPromptSubmit' },
  { event: 'PreToolUse' },
  { event: 'PostToolUse' },
  { event: 'Stop' },
  { event: 'PermissionRequest' },
];

/** A configuration file could not be merged: its content is not what the runtime reads. */
export class HookConfigError extends Error {
  override name = 'HookConfigError';
}

/** Quotes one word for `sh -c` (single quotes). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Where the hook command finds mosaic-top and the Mosaic home: absolute paths. */
export interface HookCommandTarget {
  /** Absolute path of node (process.execPath). */
  node: string;
  /** Absolute path of bin/mosaic-top. */
  bin: string;
  /** The Mosaic home beats are written under. */
  mosaicHome: string;
}

/**
 * The shell command a Claude/Codex hook runs: `<node> <bin> heartbeat-hook --runtime R
 * --mosaic-home H || true` — absolute paths (a hook's PATH is the runtime's, not the
 * operator's), and `|| true` so a heartbeat problem never blocks the runtime (Claude reads exit
 * code 2 of UserPromptSubmit as "block this prompt").
 */
export function hookCommand(runtime: HookRuntime, target: HookCommandTarget): string {
  return `${shellQuote(target.node)} ${shellQuote(target.bin)} ${HOOK_COMMAND_MARK} ${runtime} --mosaic-home ${shellQuote(target.mosaicHome)} || true`;
}

/** Result of a merge: the new file text, what changed (one line each), and whether anything did. */
export interface MergeResult {
  text: string;
  changes: string[];
  changed: boolean;
}

function isOurs(hook: unknown): boolean {
  return (
    !!hook &&
    typeof hook === 'object' &&
    typeof (hook as { command?: unknown }).command === 'string' &&
    (hook as { command: string }).command.includes(HOOK_COMMAND_MARK)
  );
}

/**
 * Merges our hook entries into a Claude-style settings/hooks JSON text (`null` = no file yet).
 * For each event: removes our old entries (keeping the operator's hooks, and their groups
 * unless we emptied them), then appends one group `{matcher?, hooks: [{type: "command",
 * command, timeout}]}`. When the result equals the input semantically, `text` is the input
 * unchanged and `changed` is false. Other top-level keys are kept. Throws
 * {@link HookConfigError} when the text is not a JSON object or `hooks` is not an object of arrays.
 */
export function mergeClaudeStyleHooks(existing: string | null, events: readonly HookEventSpec[], command: string, file: string): MergeResult {
  let root: Record<string, unknown> = {};
  if (existing !== null && existing.trim() !== '') {
    try {
      root = JSON.parse(existing) as Record<string, unknown>;
    } catch (error) {
      throw new HookConfigError(`${file}: not valid JSON (${messageOf(error)}); fix or move it, then run again`);
    }
    if (!root || typeof root !== 'object' || Array.isArray(root))
      throw new HookConfigError(`${file}: top level is not a JSON object; fix or move it, then run again`);
  }
  const before = JSON.stringify(root);
  const next = JSON.parse(before) as Record<string, unknown>;
  if (next.hooks === undefined) next.hooks = {};
  const hooks = next.hooks as Record<string, unknown>;
  if (!hooks || typeof hooks !== 'object' || Array.isArray(hooks))
    throw new HookConfigError(`${file}: "hooks" is not an object; fix or move it, then run again`);
  const changes: string[] = [];
  for (const spec of events) {
    const current = hooks[spec.event] ?? [];
    if (!Array.isArray(current)) throw new HookConfigError(`${file}: hooks.${spec.event} is not a list; fix or move it, then run again`);
    const kept: unknown[] = [];
    let removed = 0;
    for (const group of current) {
      const g = group as { hooks?: unknown };
      if (!g || typeof g !== 'object' || !Array.isArray(g.hooks)) {
        kept.push(group);
        continue;
      }
      const others = g.hooks.filter((h) => !isOurs(h));
      removed += g.hooks.length - others.length;
      if (others.length === g.hooks.length) kept.push(group);
      else if (others.length > 0) kept.push({ ...(group as object), hooks: others });
    }
    const ours: Record<string, unknown> = { hooks: [{ type: 'command', command, timeout: HOOK_TIMEOUT_SECONDS }] };
    if (spec.matcher !== undefined) ours.matcher = spec.matcher;
    const entry = spec.matcher !== undefined ? { matcher: spec.matcher, hooks: ours.hooks } : ours;
    const updated = [...kept, entry];
    if (JSON.stringify(updated) !== JSON.stringify(current)) {
      changes.push(removed ? `updated ${spec.event}` : `added ${spec.event}`);
    }
    hooks[spec.event] = updated;
  }
  // Semantically unchanged (same entries, maybe in our order already): keep the file as it is.
  if (existing !== null && changes.length === 0) return { text: existing, changes: [], changed: false };
  return { text: `${JSON.stringify(next, null, 2)}\n`, changes, changed: changes.length > 0 || existing === null };
}

/**
 * Which events of `events` carry one of our hooks in a Claude-style JSON text; null when the
 * text does not parse. Used by `hooks status`.
 */
export function wiredEvents(text: string | null, events: readonly HookEventSpec[]): string[] | null {
  if (text === null) return [];
  let root: { hooks?: unknown } | null;
  try {
    root = JSON.parse(text) as typeof root;
  } catch {
    return null;
  }
  const hooks = root?.hooks;
  if (!hooks || typeof hooks !== 'object') return [];
  const byEvent = hooks as Record<string, unknown>;
  const wired = (groups: unknown): boolean =>
    Array.isArray(groups) &&
    groups.some((g: unknown) => {
      const inner = (g as { hooks?: unknown } | null)?.hooks;
      return Array.isArray(inner) && inner.some(isOurs);
    });
  return events.filter((spec) => wired(byEvent[spec.event])).map((spec) => spec.event);
}

/** Marks a whole file as ours (plugin, extension): its first line. */
export const OWNED_FILE_MARK = 'written by `mosaic-top hooks install`';

/**
 * Shared body of the opencode plugin and the pi extension: serialised calls of
 * `<node> <bin> heartbeat-hook --runtime R --mosaic-home H`, the event JSON on stdin, each
 * killed after {@link HOOK_TIMEOUT_SECONDS} s; errors swallowed (never disturbs the runtime).
 */
function forwarderBody(runtime: HookRuntime, target: HookCommandTarget): string {
  return [
    `const NODE = ${JSON.stringify(target.node)};`,
    `const BIN = ${JSON.stringify(target.bin)};`,
    `const ARGS = [BIN, 'heartbeat-hook', '--runtime', ${JSON.stringify(runtime)}, '--mosaic-home', ${JSON.stringify(target.mosaicHome)}];`,
    'let chain = Promise.resolve();',
    '// One beat at a time, in event order: a later idle must not be overtaken by an earlier busy.',
    'function beat(payload) {',
    '  chain = chain.then(() => new Promise((resolve) => {',
    '    try {',
    "      const child = spawn(NODE, ARGS, { stdio: ['pipe', 'ignore', 'ignore'] });",
    `      const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch {} resolve(); }, ${HOOK_TIMEOUT_SECONDS * 1000});`,
    "      child.on('error', () => { clearTimeout(timer); resolve(); });",
    "      child.on('exit', () => { clearTimeout(timer); resolve(); });",
    "      child.stdin.on('error', () => {});",
    '      child.stdin.end(JSON.stringify(payload));',
    '    } catch {',
    '      resolve();',
    '    }',
    '  }));',
    '}',
  ].join('\n');
}

/**
 * The opencode plugin (ESM, no imports but node's): forwards `session.status`, `session.idle`,
 * `permission.asked`/`permission.updated`/`permission.replied` and `session.error` events to
 * `heartbeat-hook --runtime opencode`.
 */
export function opencodePluginText(target: HookCommandTarget): string {
  return [
    `// mosaic-top heartbeat plugin for opencode — ${OWNED_FILE_MARK}; rewritten on every install.`,
    "import { spawn } from 'node:child_process';",
    '',
    forwarderBody('opencode', target),
    '',
    "const EVENTS = new Set(['session.status', 'session.idle', 'permission.asked', 'permission.updated', 'permission.replied', 'session.error']);",
    '',
    'export const MosaicTopHeartbeat = async () => ({',
    '  event: async ({ event }) => {',
    '    if (event && EVENTS.has(event.type)) beat({ type: event.type, properties: event.properties });',
    '  },',
    '});',
    '',
  ].join('\n');
}

/**
 * The pi extension (TypeScript, loaded by pi): `session_start` ⇒ idle, `agent_start` ⇒ busy,
 * `agent_end` ⇒ idle, or stuck with the error when the turn's last assistant message ended in
 * an error.
 */
export function piExtensionText(target: HookCommandTarget): string {
  return [
    `// mosaic-top heartbeat extension for pi — ${OWNED_FILE_MARK}; rewritten on every install.`,
    "import { spawn } from 'node:child_process';",
    '',
    forwarderBody('pi', target),
    '',
    'export default function (pi: any) {',
    "  pi.on('session_start', async () => beat({ type: 'session_start' }));",
    "  pi.on('agent_start', async () => beat({ type: 'agent_start' }));",
    "  pi.on('agent_end', async (event: any) => {",
    '    const messages = Array.isArray(event?.messages) ? event.messages : [];',
    "    const last = [...messages].reverse().find((m: any) => m && m.role === 'assistant');",
    "    const error = last && last.stopReason === 'error' ? String(last.errorMessage ?? 'error') : null;",
    "    beat({ type: 'agent_end', error });",
    '  });',
    '}',
    '',
  ].join('\n');
}

/**
 * A file we own whole (plugin, extension): unchanged when `existing` equals `wanted`; refused
 * (HookConfigError) when a file without our mark is in the way.
 */
export function mergeOwnedFile(existing: string | null, wanted: string, file: string): MergeResult {
  if (existing === wanted) return { text: existing, changes: [], changed: false };
  if (existing !== null && !existing.includes(OWNED_FILE_MARK)) {
    throw new HookConfigError(`${file}: exists and was not written by mosaic-top; move it away, then run again`);
  }
  return { text: wanted, changes: [existing === null ? 'created' : 'updated'], changed: true };
}

/** One Codex hook to trust: its key (`<hooks.json>:<event_snake>:<group>:<index>`) and Codex's hash of it. */
export interface CodexTrustEntry {
  key: string;
  hash: string;
}

/**
 * Upserts `[hooks.state."<key>"] trusted_hash = "<hash>"` tables into a Codex config.toml text
 * (`null` = no file): an existing table's `trusted_hash` line is replaced in place, a missing
 * table is appended; everything else is kept byte for byte. Unchanged when every entry is there
 * with the same hash. This is what Codex itself writes when the operator trusts hooks in its
 * "Hooks need review" screen.
 */
export function upsertCodexTrust(existing: string | null, entries: readonly CodexTrustEntry[]): MergeResult {
  let text = existing ?? '';
  const changes: string[] = [];
  for (const { key, hash } of entries) {
    const header = `[hooks.state.${JSON.stringify(key)}]`;
    const line = `trusted_hash = ${JSON.stringify(hash)}`;
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trim() === header);
    const event = key.split(':').slice(-3, -2)[0] ?? key;
    if (at < 0) {
      if (text && !text.endsWith('\n')) text += '\n';
      text += `${text ? '\n' : ''}${header}\n${line}\n`;
      changes.push(`trusted ${event}`);
      continue;
    }
    let end = at + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith('[')) end++;
    const hashAt = lines.slice(at + 1, end).findIndex((l) => /^\s*trusted_hash\s*=/.test(l));
    if (hashAt >= 0) {
      if ((lines[at + 1 + hashAt] ?? '').trim() === line) continue;
      lines[at + 1 + hashAt] = line;
    } else {
      lines.splice(at + 1, 0, line);
    }
    text = lines.join('\n');
    changes.push(`re-trusted ${event}`);
  }
  if (!changes.length) return { text: existing ?? '', changes, changed: false };
  return { text, changes, changed: true };
}
