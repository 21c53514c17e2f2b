/**
 * Runtime hook events ⇒ heartbeat beats (pure). What `mosaic-top heartbeat-hook --runtime R`
 * does with the JSON a runtime's hook hands it (facts: shared/spec/runtimes.md):
 *
 * | runtime | event | beat |
 * | --- | --- | --- |
 * | claude, codex | `SessionStart`, `Stop` | idle |
 * | claude, codex | `UserPromptSubmit`, `PostToolUse` (and Codex `PreToolUse`) | busy |
 * | claude, codex | `PermissionRequest` | waiting, `permission: <tool> <command or path>` |
 * | claude | `Notification` (`permission_prompt`) | waiting (keeps a reason already there) |
 * | claude | `StopFailure` | stuck: `rate limited (429)`, `credentials rejected`, `server error`, … |
 * | codex `notify` | `agent-turn-complete` | idle |
 * | opencode | `session.status` busy/idle/retry, `session.idle`, `permission.asked`/`.replied`, `session.error` | busy/idle/stuck, idle, waiting/busy, stuck |
 * | pi | `session_start`, `agent_start`, `agent_end` (error ⇒ stuck) | idle, busy, idle |
 *
 * Anything else maps to null (no beat written).
 */

/** Runtimes whose hooks mosaic-top wires. */
export type HookRuntime = 'claude' | 'codex' | 'opencode' | 'pi';
import { parseJsonPrefix } from '../lib/json-prefix.js';
import { flattenLine } from '../lib/sanitize.js';

/** Every runtime of {@link HookRuntime}. */
export const HOOK_RUNTIMES: readonly HookRuntime[] = ['claude', 'codex', 'opencode', 'pi'];

/** A beat derived from one hook event. */
export interface HookBeat {
  state: 'busy' | 'idle' | 'waiting' | 'stuck';
  /** Why the agent waits or is stuck (one short line), else null. */
  reason: string | null;
  /** Extra context for the note (e.g. the runtime's error text), else null. */
  note: string | null;
  /** The event that produced it (`StopFailure`, `session.status`, …), for logs. */
  event: string;
  /**
   * True when a reason already written for a `waiting` beat should be kept (Claude's
   * `Notification` comes ~6 s after `PermissionRequest` and knows less).
   */
  keepWaitingReason?: boolean;
}

/** Longest reason kept (characters). */
export const MAX_REASON_LENGTH = 160;

function oneLine(text: string, max = MAX_REASON_LENGTH): string {
  return flattenLine(text, max);
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() ? v : null;
}

/** `permission: <tool> <what>` from a tool name and its input (command, file path, url, pattern). */
export function permissionReason(tool: string | null, input: unknown): string {
  const i = obj(input);
  const what =
    str(i.command) ??
    (Array.isArray(i.command) ? i.command.filter((w: unknown) => typeof w === 'string').join(' ') : null) ??
    str(i.cmd) ??
    str(i.file_path) ??
    str(i.filePath) ??
    str(i.path) ??
    str(i.url) ??
    str(i.pattern) ??
    '';
  return oneLine(`permission: ${[tool ?? 'tool', what].filter(Boolean).join(' ')}`);
}

/**
 * Reason for an API failure from an HTTP status and/or an error kind: 429 / `rate_limit` ⇒
 * `rate limited (429)`; 401, 403 / `authentication_failed` ⇒ `credentials rejected`; 529 /
 * `overloaded` ⇒ `overloaded (529)`; 5xx / `server_error` ⇒ `server error (<status>)`; else
 * `API error: <message>`.
 */
export function failureReason(status: number | null, kind: string | null, message: string | null): string {
  const k = (kind ?? '').toLowerCase();
  const m = message ?? '';
  if (status === 429 || /rate.?limit/.test(k) || /\b429\b|rate.?limit/i.test(m)) return 'rate limited (429)';
  if (status === 401 || status === 403 || /auth/.test(k) || /\b401\b|invalid api key|unauthori[sz]ed|authentication/i.test(m)) return 'credentials rejected';
  if (status === 529 || /overload/.test(k) || /\b529\b|overloaded/i.test(m)) return 'overloaded (529)';
  if ((status !== null && status >= 500) || /server/.test(k)) return `server error${status ? ` (${status})` : ''}`;
  return oneLine(`API error: ${m || k || (status ? String(status) : 'unknown')}`);
}

function claudeStyle(runtime: 'claude' | 'codex', p: Record<string, unknown>): HookBeat | null {
  const event = str(p.hook_event_name) ?? '';
  const beat = (state: HookBeat['state'], reason: string | null = null, note: string | null = null): HookBeat => ({ state, reason, note, event });
  switch (event) {
    case 'SessionStart':
    case 'Stop':
      return beat('idle');
    case 'UserPromptSubmit':
    case 'PostToolUse':
      return beat('busy');
    case 'PreToolUse':
      // Claude: PermissionRequest follows ~40 ms later when a prompt opens; a plain busy beat
      // here would race it. Codex: no PostToolUse-only turns, so it marks tool work.
      return runtime === 'codex' ? beat('busy') : null;
    case 'PermissionRequest':
      return beat('waiting', permissionReason(str(p.tool_name), p.tool_input));
    case 'Notification': {
      if (p.notification_type !== 'permission_prompt') return null;
      return { ...beat('waiting', oneLine(`permission: ${str(p.message) ?? 'needs your permission'}`)), keepWaitingReason: true };
    }
    case 'StopFailure': {
      const error = typeof p.error === 'string' ? p.error : (str(obj(p.error).type) ?? str(obj(p.error).error));
      const text = str(p.last_assistant_message) ?? str(p.error_message) ?? str(obj(p.error).message);
      const status = Number(p.status ?? p.status_code ?? obj(p.error).status) || null;
      return beat('stuck', failureReason(status, error, text), text ? oneLine(text, 200) : null);
    }
    default:
      return null;
  }
}

function opencode(p: Record<string, unknown>): HookBeat | null {
  const event = str(p.type) ?? '';
  const props = obj(p.properties);
  const beat = (state: HookBeat['state'], reason: string | null = null, note: string | null = null): HookBeat => ({ state, reason, note, event });
  switch (event) {
    case 'session.status': {
      const status = obj(props.status);
      const type = str(status.type) ?? str(props.type);
      if (type === 'busy') return beat('busy');
      if (type === 'idle') return beat('idle');
      if (type === 'retry') {
        const message = str(status.message) ?? str(props.message);
        return beat('stuck', failureReason(null, null, message), message ? oneLine(message, 200) : null);
      }
      return null;
    }
    case 'session.idle':
      return beat('idle');
    case 'permission.asked':
    case 'permission.updated': {
      const patterns = Array.isArray(props.patterns) ? props.patterns.filter((x: unknown) => typeof x === 'string') : [];
      const pattern = patterns.length ? patterns.join(' ') : str(props.pattern);
      const tool = str(props.permission) ?? str(props.type) ?? str(props.tool) ?? 'tool';
      const what = pattern ?? str(obj(props.metadata).command) ?? str(props.title);
      return beat('waiting', oneLine(`permission: ${tool}${what ? ` ${what}` : ''}`));
    }
    case 'permission.replied':
      return beat('busy');
    case 'session.error': {
      const error = obj(props.error);
      const data = obj(error.data);
      const status = Number(data.statusCode ?? props.statusCode ?? error.statusCode) || null;
      const message = str(data.message) ?? str(props.message) ?? str(error.message) ?? str(error.name);
      if (str(error.name) === 'MessageAbortedError') return null;
      return beat('stuck', failureReason(status, str(error.name), message), message ? oneLine(message, 200) : null);
    }
    default:
      return null;
  }
}

function pi(p: Record<string, unknown>): HookBeat | null {
  const event = str(p.type) ?? '';
  const beat = (state: HookBeat['state'], reason: string | null = null, note: string | null = null): HookBeat => ({ state, reason, note, event });
  switch (event) {
    case 'session_start':
      return beat('idle');
    case 'agent_start':
      return beat('busy');
    case 'agent_end': {
      const error = str(p.error);
      return error ? beat('stuck', failureReason(null, null, error), oneLine(error, 200)) : beat('idle');
    }
    default:
      return null;
  }
}

/**
 * Maps one hook payload of `runtime` to a beat, or null when the event says nothing about
 * readiness. `payload` is the parsed JSON the runtime gave the hook (stdin, or Codex
 * `notify`'s last argument). Never throws.
 */
export function beatFromHookEvent(runtime: HookRuntime, payload: unknown): HookBeat | null {
  const p = obj(payload);
  if (runtime === 'codex' && p.type === 'agent-turn-complete') return { state: 'idle', reason: null, note: null, event: 'agent-turn-complete' };
  if (runtime === 'claude' || runtime === 'codex') return claudeStyle(runtime, p);
  if (runtime === 'opencode') return opencode(p);
  return pi(p);
}

/** Keys that name a hook event, per runtime (the Claude-style name, or opencode/pi/Codex notify `type`). */
function eventNameOf(runtime: HookRuntime, payload: unknown): string | null {
  const p = obj(payload);
  return runtime === 'claude' ? str(p.hook_event_name) : (str(p.hook_event_name) ?? str(p.type));
}

/**
 * The beat of a hook event too large to read whole: `prefix` is its first bytes (a bounded
 * read), `totalBytes` its size. The event's name and tool come before its bulky input in every
 * runtime's payload, so the members complete in the prefix (lib/json-prefix.ts) are mapped by
 * {@link beatFromHookEvent}, with a note saying the event was read in part. When the prefix
 * holds no event name (or is not JSON), the beat is `busy` with a note saying so: a large
 * event carries a tool's input or output, so the agent is working, and a `waiting` beat must
 * not outlive the tool it waited for. Returns the partial payload too (for the spend meter's
 * transcript path). Never throws.
 */
export function beatFromHookEventPrefix(runtime: HookRuntime, prefix: string, totalBytes: number): { beat: HookBeat | null; payload: unknown } {
  const parsed = parseJsonPrefix(prefix);
  const payload = parsed?.value ?? {};
  const size = `${Math.round(totalBytes / 1024)} KB`;
  if (!eventNameOf(runtime, payload)) {
    const note = `hook event too large (${size}) and no event name in its first ${Math.round(Buffer.byteLength(prefix) / 1024)} KB: assumed busy`;
    return { beat: { state: 'busy', reason: null, note, event: 'too-large' }, payload };
  }
  const beat = beatFromHookEvent(runtime, payload);
  if (!beat) return { beat: null, payload };
  return { beat: { ...beat, note: beat.note ?? `hook event too large (${size}): read from its first bytes` }, payload };
}
