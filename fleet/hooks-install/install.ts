/**
 * `hooks install` and `hooks status` over a plan (./plan.ts): merge our hook entries into each
 * runtime configuration file (the operator's own hooks kept, a second run changes nothing,
 * `dryRun` writes nothing), and say how wired each file is. The merges themselves are pure
 * (fleet/hook-config.ts).
 */
import path from 'node:path';
import {
  CLAUDE_HOOK_EVENTS,
  CODEX_HOOK_EVENTS,
  HookConfigError,
  hookCommand,
  mergeClaudeStyleHooks,
  mergeOwnedFile,
  opencodePluginText,
  OWNED_FILE_MARK,
  piExtensionText,
  wiredEvents,
  type HookCommandTarget,
  type MergeResult,
} from '../hook-config.js';
import { messageOf } from '../../lib/errors.js';
import { readHookConfig, writeFileAtomic } from './files.js';
import type { HookPlanItem } from './plan.js';
import { mergeStatusLine, statuslineCommand, statusLineDetail } from './statusline-config.js';

/** Claude's merge: our hooks, then our statusLine (added with `statusline` where the operator has none; ours kept current) (./statusline-config.ts). */
function mergeClaude(item: HookPlanItem, existing: string | null, target: HookCommandTarget, statusline: boolean): MergeResult {
  const hooks = mergeClaudeStyleHooks(existing, CLAUDE_HOOK_EVENTS, hookCommand('claude', target), item.file);
  const root = JSON.parse(hooks.text) as Record<string, unknown>;
  const change = mergeStatusLine(root, statuslineCommand(target), statusline);
  if (!change) return hooks;
  return { text: `${JSON.stringify(root, null, 2)}\n`, changes: [...hooks.changes, change], changed: true };
}

/** The merge of one plan item (pure over the file's current text); `statusline` adds Claude's statusLine. */
export function mergeFor(item: HookPlanItem, existing: string | null, target: HookCommandTarget, statusline = false): MergeResult {
  switch (item.runtime) {
    case 'claude':
      return mergeClaude(item, existing, target, statusline);
    case 'codex':
      return mergeClaudeStyleHooks(existing, CODEX_HOOK_EVENTS, hookCommand('codex', target), item.file);
    case 'opencode':
      return mergeOwnedFile(existing, opencodePluginText(target), item.file);
    case 'pi':
      return mergeOwnedFile(existing, piExtensionText(target), item.file);
  }
}

/** Result of one file in `hooks install`. */
export interface HookInstallResult extends HookPlanItem {
  changed: boolean;
  changes: string[];
  written: boolean;
  error: string | null;
}

/**
 * Installs (or, with `dryRun`, plans) the hooks of `items`; `statusline` also adds our Claude
 * statusLine where a file has none (./statusline-config.ts). Never throws for one file: its
 * error is in the result and the others go on.
 */
export function installHooks(items: HookPlanItem[], target: HookCommandTarget, dryRun: boolean, statusline = false): HookInstallResult[] {
  return items.map((item) => {
    try {
      const existing = readHookConfig(item.file);
      const merged = mergeFor(item, existing, target, statusline);
      if (merged.changed && !dryRun) writeFileAtomic(item.file, merged.text);
      return { ...item, changed: merged.changed, changes: merged.changes, written: merged.changed && !dryRun, error: null };
    } catch (error) {
      return { ...item, changed: false, changes: [], written: false, error: error instanceof HookConfigError ? error.message : messageOf(error, item.file) };
    }
  });
}

/** Per-file wiring state for `hooks status`. */
export interface HookStatus extends HookPlanItem {
  /** wired (every event ours), partial, outdated (ours, another mosaic-top path), not wired, unreadable. */
  state: 'wired' | 'partial' | 'outdated' | 'not wired' | 'unreadable';
  detail: string;
}

/** How wired an opencode/pi file (a file we own whole) is, from its text (null: no file). */
function ownedFileStatus(item: HookPlanItem, text: string | null, target: HookCommandTarget): HookStatus {
  if (text === null) return { ...item, state: 'not wired', detail: 'no file' };
  if (!text.includes(OWNED_FILE_MARK)) return { ...item, state: 'not wired', detail: 'a file not written by mosaic-top is there' };
  const wanted = item.runtime === 'opencode' ? opencodePluginText(target) : piExtensionText(target);
  return text === wanted
    ? { ...item, state: 'wired', detail: 'plugin file up to date' }
    : { ...item, state: 'outdated', detail: 'written by another mosaic-top install: run hooks install' };
}

/**
 * How many of our `wired` Codex hooks its config.toml trusts, as the status detail: Codex runs
 * them only once trusted; our tables are counted (the digests themselves only Codex can check).
 */
function codexTrustDetail(hooksFile: string, wired: number): string {
  let config = '';
  try {
    config = readHookConfig(path.join(path.dirname(hooksFile), 'config.toml')) ?? '';
  } catch {
    /* unreadable: counted as none */
  }
  const prefix = `[hooks.state.${JSON.stringify(hooksFile).slice(0, -1)}:`;
  const trusted = config.split('\n').filter((l) => l.trim().startsWith(prefix)).length;
  const trust =
    trusted >= wired
      ? `trusted in config.toml`
      : `${trusted}/${wired} trusted in config.toml: Codex will ask to review them (run hooks install with codex on PATH)`;
  return `${wired} events; ${trust}`;
}

/** How wired each item is (reads the files; never writes). */
export function hookStatus(items: HookPlanItem[], target: HookCommandTarget): HookStatus[] {
  return items.map((item): HookStatus => {
    let text: string | null;
    try {
      text = readHookConfig(item.file);
    } catch (error) {
      return { ...item, state: 'unreadable', detail: messageOf(error) };
    }
    if (item.runtime === 'opencode' || item.runtime === 'pi') return ownedFileStatus(item, text, target);
    const events = item.runtime === 'claude' ? CLAUDE_HOOK_EVENTS : CODEX_HOOK_EVENTS;
    const wired = wiredEvents(text, events);
    if (wired === null) return { ...item, state: 'unreadable', detail: `${item.file}: not valid JSON` };
    const missing = events.map((e) => e.event).filter((e) => !wired.includes(e));
    if (wired.length === 0) return { ...item, state: 'not wired', detail: text === null ? 'no file' : 'no mosaic-top hooks' };
    if (missing.length) return { ...item, state: 'partial', detail: `missing ${missing.join(', ')}` };
    const merged = mergeClaudeStyleHooks(text, events, hookCommand(item.runtime, target), item.file);
    if (merged.changed) return { ...item, state: 'outdated', detail: 'hooks call another mosaic-top install: run hooks install' };
    if (item.runtime === 'codex') return { ...item, state: 'wired', detail: codexTrustDetail(item.file, wired.length) };
    return { ...item, state: 'wired', detail: `${wired.length} events; ${statusLineDetail(text, statuslineCommand(target))}` };
  });
}
