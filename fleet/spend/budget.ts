/**
 * Budgets from the roster (read-only signal, nothing is throttled):
 *
 * ```yaml
 * budget:                       # the fleet's, and per class
 *   daily_usd: 200
 *   daily_tokens: 50000000
 *   classes:
 *     code: { daily_usd: 20 }
 * agents:
 *   - name: coder-1
 *     budget: { daily_usd: 30, daily_tokens: 8000000 }   # wins over its class's
 * ```
 *
 * Today's (local day) spend over a budget raises `OVER-BUDGET`. Read from the roster file
 * itself (the roster parser ignores unknown keys), re-read when the file changes. A budget
 * value that is not a non-negative number is ignored and reported.
 */
import { readBoundedFile } from '../../lib/bounded-read.js';
import fs from 'node:fs';
import { parse } from 'yaml';

/** A daily budget; null fields = no limit on that measure. */
export interface DailyBudget {
  dailyUsd: number | null;
  dailyTokens: number | null;
}

/** Budgets of a roster. */
export interface RosterBudgets {
  fleet: DailyBudget | null;
  classes: Map<string, DailyBudget>;
  agents: Map<string, DailyBudget>;
  /** Problems, one line each (`<file>: agents[coder-1].budget.daily_usd: not a number`). */
  errors: string[];
}

function budgetOf(v: unknown, where: string, errors: string[]): DailyBudget | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const field = (k: string): number | null => {
    if (o[k] === undefined || o[k] === null) return null;
    if (typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= 0) return o[k] as number;
    errors.push(`${where}.${k}: not a non-negative number (ignored)`);
    return null;
  };
  const b = { dailyUsd: field('daily_usd') ?? field('dailyUsd'), dailyTokens: field('daily_tokens') ?? field('dailyTokens') };
  return b.dailyUsd === null && b.dailyTokens === null ? null : b;
}

/** Parses the budgets of roster YAML text. Never throws (YAML errors are the roster loader's to report). */
export function parseRosterBudgets(text: string, file: string): RosterBudgets {
  const out: RosterBudgets = { fleet: null, classes: new Map(), agents: new Map(), errors: [] };
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return out;
  }
  if (!doc || typeof doc !== 'object') return out;
  const d = doc as Record<string, unknown>;
  const errs: string[] = [];
  out.fleet = budgetOf(d.budget, 'budget', errs);
  const classes = d.budget && typeof d.budget === 'object' ? (d.budget as Record<string, unknown>).classes : undefined;
  if (classes && typeof classes === 'object') {
    for (const [k, v] of Object.entries(classes as Record<string, unknown>)) {
      const b = budgetOf(v, `budget.classes.${k}`, errs);
      if (b) out.classes.set(k, b);
    }
  }
  if (Array.isArray(d.agents)) {
    for (const a of d.agents as unknown[]) {
      if (!a || typeof a !== 'object') continue;
      const name = (a as Record<string, unknown>).name;
      if (typeof name !== 'string') continue;
      const b = budgetOf((a as Record<string, unknown>).budget, `agents[${name}].budget`, errs);
      if (b) out.agents.set(name, b);
    }
  }
  out.errors = errs.map((e) => `${file}: ${e}`);
  return out;
}

/** The budget that applies to an agent: its own, else its class's. */
export function agentBudget(b: RosterBudgets, agent: string, cls: string | null): DailyBudget | null {
  return b.agents.get(agent) ?? (cls ? (b.classes.get(cls) ?? null) : null);
}

/** Why a spend is over `budget` (one line), or null when within it. */
export function overBudget(budget: DailyBudget | null, costUsd: number | null, tokens: number): string | null {
  if (!budget) return null;
  if (budget.dailyUsd !== null && costUsd !== null && costUsd > budget.dailyUsd)
    return `today $${costUsd.toFixed(2)} > daily budget $${budget.dailyUsd.toFixed(2)}`;
  if (budget.dailyTokens !== null && tokens > budget.dailyTokens) return `today ${tokens} tokens > daily budget ${budget.dailyTokens}`;
  return null;
}

/** How the cache stats the roster: `file(path, read)` answers `read(path).value`, or a kept answer (fleet/spend/meter-reads.ts). */
export interface BudgetStat {
  file<T>(file: string, read: (file: string) => { value: T; keep: boolean }): T;
}

/** Modification time of `file` (ms), 0 when missing or unreadable. */
function rosterMtime(file: string): { value: number; keep: boolean } {
  try {
    return { value: fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0, keep: true };
  } catch {
    return { value: 0, keep: false };
  }
}

/** Reads a roster file's budgets, cached by mtime (stat'ed through `reads`, default each call). */
export class BudgetCache {
  private mtimeMs = -1;
  private value: RosterBudgets = { fleet: null, classes: new Map(), agents: new Map(), errors: [] };

  constructor(
    readonly file: string,
    private readonly reads: BudgetStat = { file: (f, read) => read(f).value },
  ) {}

  get(): RosterBudgets {
    const mtimeMs = this.reads.file(this.file, rosterMtime);
    if (mtimeMs !== this.mtimeMs) {
      this.mtimeMs = mtimeMs;
      let text = '';
      try {
        // Bounded: the roster may be a FIFO or a device (its loader reports that, not this reader).
        if (mtimeMs) text = readBoundedFile(this.file, { maxBytes: 4 * 1024 * 1024 })?.bytes.toString('utf8') ?? '';
      } catch {
        text = '';
      }
      this.value = parseRosterBudgets(text, this.file);
    }
    return this.value;
  }
}
