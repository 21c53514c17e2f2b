/**
 * Claude Code's subscription windows, as its statusline reports them. Claude Code runs the
 * `statusLine` command of its settings on each refresh with a JSON document on stdin; when the
 * session is signed in to a Claude subscription (OAuth, scope `user:inference`) the document
 * carries `rate_limits: { five_hour?: { used_percentage, resets_at }, seven_day?: {…} }`, filled
 * from the `anthropic-ratelimit-unified-5h-utilization` / `-5h-reset` (and `7d`) response
 * headers: `used_percentage` = utilization (0..1) × 100, `resets_at` = unix seconds (Claude
 * Code 2.1.197; an API-key session has no `rate_limits`). Our hidden `statusline-hook` verb
 * records the last report per agent in `<run>/spend/<agent>.quota.json` (owner-only, atomic);
 * the meter reads it as the agent's quota: `five_hour` ⇒ window `primary` (300 minutes),
 * `seven_day` ⇒ `secondary` (10 080 minutes), the spend@1 schema's Codex windows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { readBoundedFile } from '../../lib/bounded-read.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { ensureOwnerOnlyDir, OWNER_ONLY_FILE_MODE } from '../../lib/owner-only.js';
import { obj, type RateReport, type RateWindow } from './types.js';

/** Claude's statusline windows ⇒ the spend@1 window and its length in minutes. */
const CLAUDE_WINDOWS: readonly { key: string; window: RateWindow['window']; minutes: number }[] = [
  { key: 'five_hour', window: 'primary', minutes: 300 },
  { key: 'seven_day', window: 'secondary', minutes: 10_080 },
];

/** Most bytes of a recorded quota file read back. */
const QUOTA_FILE_LIMIT = 16 * 1024;

/**
 * The subscription windows of one statusline document (`value`, parsed JSON), reported at `at`
 * (unix ms). A window counts when its `used_percentage` is a finite number ≥ 0; `resets_at` is
 * kept when it is a positive number (unix seconds; a value in ms is scaled down), else null.
 * Null when the document has no usable window (an API-key session). Never throws.
 */
export function statuslineRates(value: unknown, at: number): RateReport | null {
  const limits = obj(obj(value).rate_limits);
  const windows: RateWindow[] = [];
  for (const { key, window, minutes } of CLAUDE_WINDOWS) {
    const w = obj(limits[key]);
    const used = w.used_percentage;
    if (typeof used !== 'number' || !Number.isFinite(used) || used < 0) continue;
    const reset = typeof w.resets_at === 'number' && Number.isFinite(w.resets_at) && w.resets_at > 0 ? w.resets_at : null;
    const resetsAt = reset === null ? null : reset > 1e12 ? Math.floor(reset / 1000) : reset;
    windows.push({ window, usedPercent: Math.round(used * 100) / 100, windowMinutes: minutes, resetsAt });
  }
  return windows.length ? { at, windows } : null;
}

/** The short status line the hook prints: `5h 42% · 7d 12%` (the model when no window is known), control characters shown as text (lib/sanitize.ts), one line. */
export function statuslineText(value: unknown, report: RateReport | null): string {
  const model = obj(obj(value).model);
  const name = typeof model.display_name === 'string' ? model.display_name : typeof model.id === 'string' ? model.id : 'Claude';
  const parts = (report?.windows ?? []).map((w) => `${w.window === 'primary' ? '5h' : '7d'} ${Math.round(w.usedPercent)}%`);
  return sanitizeLine([name, ...parts].join(' · ')).slice(0, 120);
}

/** `<run>/spend/<agent>.quota.json`: the agent's last recorded statusline windows. */
export function quotaPath(runDir: string, agent: string): string {
  return path.join(runDir, 'spend', `${agent}.quota.json`);
}

/** Records `report` as the agent's last windows (dir 0700, file 0600, written atomically). Throws the fs error. */
export function recordQuota(runDir: string, agent: string, report: RateReport): void {
  ensureOwnerOnlyDir(path.join(runDir, 'spend'));
  writeFileAtomic(quotaPath(runDir, agent), JSON.stringify({ v: 1, ...report }) + '\n', { mode: OWNER_ONLY_FILE_MODE });
}

/** Parses a recorded quota file's text; null when it is not one (bad windows are dropped). */
export function parseQuotaFile(text: string): RateReport | null {
  let raw: Record<string, unknown>;
  try {
    raw = obj(JSON.parse(text));
  } catch {
    return null;
  }
  if (raw.v !== 1 || typeof raw.at !== 'number' || !Array.isArray(raw.windows)) return null;
  const windows: RateWindow[] = [];
  for (const item of raw.windows as unknown[]) {
    const w = obj(item);
    if ((w.window !== 'primary' && w.window !== 'secondary') || typeof w.usedPercent !== 'number') continue;
    const minutes = typeof w.windowMinutes === 'number' ? w.windowMinutes : null;
    const resetsAt = typeof w.resetsAt === 'number' ? w.resetsAt : null;
    windows.push({ window: w.window, usedPercent: w.usedPercent, windowMinutes: minutes, resetsAt });
  }
  return windows.length ? { at: raw.at, windows } : null;
}

/** The agent's recorded windows and the file's mtime (ms), or null when there is no readable file. Never throws. */
export function readQuota(runDir: string, agent: string): { report: RateReport | null; mtimeMs: number } | null {
  const file = quotaPath(runDir, agent);
  try {
    const mtimeMs = fs.statSync(file).mtimeMs;
    const read = readBoundedFile(file, { maxBytes: QUOTA_FILE_LIMIT });
    return read ? { report: parseQuotaFile(read.bytes.toString('utf8')), mtimeMs } : null;
  } catch {
    return null;
  }
}
