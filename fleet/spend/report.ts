/**
 * Spend report (pure): usage events of attributed record files grouped by agent, card,
 * runtime, model or local day, priced, with the subscription windows' pace. The JSON shape
 * `mosaic-top/spend@1` is read by scripts and other tools: field names never change.
 *
 * Rules:
 * - one count per API request: a key seen in another file of the report (a resumed Claude
 *   session copies earlier messages) counts once;
 * - `costUsd` sums the priced requests of a row; null when none of them is priced; the models
 *   without a price are listed in `unpricedModels` (their tokens still count);
 * - a card's tokens are its claiming agent's requests between each claim and its end
 *   (complete, release, reclaim; still claimed ⇒ until now); a re-claimed card sums them;
 * - pace of a window: projected use at reset = used % ÷ elapsed fraction of the window;
 *   over 100 % ⇒ `over` (the window runs out early), 90–100 % ⇒ `on`, below ⇒ `under`.
 */
import type { PriceBook } from './prices.js';
import { addTokens, zeroTokens, type RateReport, type SpendRuntime, type SpendTokens, type UsageEvent } from './types.js';

export const SPEND_SCHEMA = 'mosaic-top/spend@1' as const;

/** Groupings of `mosaic-top spend --by`. */
export type SpendBy = 'agent' | 'card' | 'runtime' | 'model' | 'day';
export const SPEND_BYS: readonly SpendBy[] = ['agent', 'card', 'runtime', 'model', 'day'];

/** A record file as the report sees it: whose it is (null = unattributed, with why). */
export interface ReportFile {
  file: string;
  runtime: SpendRuntime;
  agent: string | null;
  reason: string | null;
  session: string | null;
  events: readonly UsageEvent[];
  rate: RateReport | null;
}

/** One claim of a card: the agent and the interval (unix ms; `to` null = still claimed). */
export interface ClaimInterval {
  card: string;
  agent: string;
  from: number;
  to: number | null;
}

export interface SpendRow {
  key: string;
  by: SpendBy;
  /** The runtime of the row's requests; `mixed` when several. */
  runtime: string;
  tokens: SpendTokens;
  costUsd: number | null;
  unpricedModels: string[];
  requests: number;
  sessions: number;
  /** Card rows: the card's projected tokens (null when none was given); absent on other rows. */
  projectedTokens?: number | null;
}

export type Pace = 'under' | 'on' | 'over';

export interface QuotaRow {
  agent: string;
  runtime: string;
  window: 'primary' | 'secondary';
  windowMinutes: number | null;
  usedPercent: number;
  /** ISO time the window resets, null when not reported. */
  resetsAt: string | null;
  elapsedPercent: number | null;
  projectedPercentAtReset: number | null;
  pace: Pace;
}

export interface SpendReport {
  schema: typeof SPEND_SCHEMA;
  since: string;
  until: string;
  rows: SpendRow[];
  total: SpendRow;
  quota: QuotaRow[];
  /** Requests no agent could be held accountable for, and why (one reason per file group). */
  unattributed: SpendRow & { reasons: string[] };
}

/** Options of {@link buildSpendReport}. */
export interface ReportOptions {
  by: SpendBy;
  since: number;
  until: number;
  prices: PriceBook;
  /** Claims of cards (for `--by card` and `--card`). */
  claims?: readonly ClaimInterval[];
  /** Projected tokens per card id. */
  projected?: ReadonlyMap<string, number | null>;
  /** Only this agent's requests. */
  agent?: string;
  /** Only the requests inside this card's claims. */
  card?: string;
  /** Offset of local time from UTC at an instant, minutes (for `--by day`); default the process's. */
  tzOffsetMinutes?: (at: number) => number;
}

class Acc {
  tokens = zeroTokens();
  cost = 0;
  priced = 0;
  unpriced = new Set<string>();
  requests = 0;
  sessions = new Set<string>();
  runtimes = new Set<string>();

  add(e: UsageEvent, f: ReportFile, cost: number | null): void {
    addTokens(this.tokens, e.tokens);
    if (cost === null) this.unpriced.add(e.model);
    else {
      this.cost += cost;
      this.priced += 1;
    }
    this.requests += 1;
    this.sessions.add(f.session ?? f.file);
    this.runtimes.add(f.runtime);
  }

  row(key: string, by: SpendBy): SpendRow {
    return {
      key,
      by,
      runtime: this.runtimes.size === 1 ? ([...this.runtimes][0] ?? '') : this.runtimes.size ? 'mixed' : '',
      tokens: { ...this.tokens },
      costUsd: this.priced ? Math.round(this.cost * 1e9) / 1e9 : null,
      unpricedModels: [...this.unpriced].sort(),
      requests: this.requests,
      sessions: this.sessions.size,
    };
  }
}

function localDay(at: number, offset: (at: number) => number): string {
  return new Date(at - offset(at) * 60_000).toISOString().slice(0, 10);
}

/** The card whose claim by `agent` holds `at`, or null. */
function cardAt(claims: readonly ClaimInterval[], agent: string | null, at: number, now: number): string | null {
  if (!agent) return null;
  for (const c of claims) if (c.agent === agent && at >= c.from && at <= (c.to ?? now)) return c.card;
  return null;
}

/** Builds the report of `files` (see the module doc for the rules). Pure. */
export function buildSpendReport(files: readonly ReportFile[], opts: ReportOptions): SpendReport {
  const claims = opts.claims ?? [];
  const offset = opts.tzOffsetMinutes ?? ((at: number) => new Date(at).getTimezoneOffset());
  const groups = new Map<string, Acc>();
  const total = new Acc();
  const unattributed = new Acc();
  const reasons = new Set<string>();
  const seen = new Set<string>();
  for (const f of files) {
    if (opts.agent !== undefined && f.agent !== opts.agent) continue;
    for (const e of f.events) {
      if (e.at < opts.since || e.at > opts.until) continue;
      if (e.key !== null) {
        const k = `${f.runtime}\0${e.key}`;
        if (seen.has(k)) continue;
        seen.add(k);
      }
      const card = opts.by === 'card' || opts.card !== undefined ? cardAt(claims, f.agent, e.at, opts.until) : null;
      if (opts.card !== undefined && card !== opts.card) continue;
      const cost = opts.prices.cost(e, f.runtime);
      if (f.agent === null) {
        unattributed.add(e, f, cost);
        if (f.reason) reasons.add(f.reason);
        continue;
      }
      total.add(e, f, cost);
      let key: string | null;
      if (opts.by === 'agent') key = f.agent;
      else if (opts.by === 'card') key = card;
      else if (opts.by === 'runtime') key = f.runtime;
      else if (opts.by === 'model') key = e.model;
      else key = localDay(e.at, offset);
      if (key === null) continue;
      let acc = groups.get(key);
      if (!acc) groups.set(key, (acc = new Acc()));
      acc.add(e, f, cost);
    }
  }
  const rows = [...groups].map(([key, acc]) => {
    const row = acc.row(key, opts.by);
    if (opts.by === 'card') row.projectedTokens = opts.projected?.get(key) ?? null;
    return row;
  });
  rows.sort((a, b) => (opts.by === 'day' ? a.key.localeCompare(b.key) : b.tokens.total - a.tokens.total || a.key.localeCompare(b.key)));
  const quota = quotaRows(files, opts.until, opts.agent);
  return {
    schema: SPEND_SCHEMA,
    since: new Date(opts.since).toISOString(),
    until: new Date(opts.until).toISOString(),
    rows,
    total: total.row('total', opts.by),
    quota,
    unattributed: { ...unattributed.row('unattributed', opts.by), reasons: [...reasons].sort() },
  };
}

/**
 * Pace of a window at `now` (unix ms): elapsed % of the window, projected % at reset, pace.
 * Unknown length or reset ⇒ elapsed and projection null, pace from the used % alone.
 */
export function windowPace(
  usedPercent: number,
  windowMinutes: number | null,
  resetsAt: number | null,
  now: number,
): Pick<QuotaRow, 'elapsedPercent' | 'projectedPercentAtReset' | 'pace'> {
  if (!windowMinutes || !resetsAt) return { elapsedPercent: null, projectedPercentAtReset: null, pace: usedPercent >= 100 ? 'over' : 'on' };
  const lengthMs = windowMinutes * 60_000;
  const elapsed = Math.min(1, Math.max(0, (lengthMs - (resetsAt * 1000 - now)) / lengthMs));
  if (elapsed <= 0) return { elapsedPercent: 0, projectedPercentAtReset: null, pace: usedPercent >= 100 ? 'over' : 'on' };
  const projected = usedPercent / elapsed;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { elapsedPercent: round(elapsed * 100), projectedPercentAtReset: round(projected), pace: projected > 100 ? 'over' : projected >= 90 ? 'on' : 'under' };
}

/** Each agent's latest report per window (windows already reset are left out). */
export function quotaRows(files: readonly ReportFile[], now: number, agent?: string): QuotaRow[] {
  const latest = new Map<string, { at: number; runtime: string; w: RateReport['windows'][number]; agent: string }>();
  for (const f of files) {
    if (!f.agent || !f.rate || (agent !== undefined && f.agent !== agent)) continue;
    for (const w of f.rate.windows) {
      const k = `${f.agent}\0${w.window}`;
      const cur = latest.get(k);
      if (!cur || f.rate.at > cur.at) latest.set(k, { at: f.rate.at, runtime: f.runtime, w, agent: f.agent });
    }
  }
  const out: QuotaRow[] = [];
  for (const { runtime, w, agent: a } of latest.values()) {
    if (w.resetsAt !== null && w.resetsAt * 1000 <= now) continue;
    out.push({
      agent: a,
      runtime,
      window: w.window,
      windowMinutes: w.windowMinutes,
      usedPercent: w.usedPercent,
      resetsAt: w.resetsAt === null ? null : new Date(w.resetsAt * 1000).toISOString(),
      ...windowPace(w.usedPercent, w.windowMinutes, w.resetsAt, now),
    });
  }
  return out.sort((x, y) => x.agent.localeCompare(y.agent) || x.window.localeCompare(y.window));
}

/**
 * Claim intervals of cards from backlog events (any order): a `claim` opens one for its owner
 * (`detail.owner`, else the actor); `complete`, `release`, `reclaim` and `block` close the open
 * one of that card. Unix ms.
 */
export function claimIntervals(
  events: readonly { at: string; verb: string; cardId: string | null; actor: string; detail: Record<string, unknown> }[],
): ClaimInterval[] {
  const sorted = [...events].filter((e) => e.cardId).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const open = new Map<string, ClaimInterval>();
  const out: ClaimInterval[] = [];
  for (const e of sorted) {
    const card = e.cardId as string;
    const at = Date.parse(e.at);
    if (e.verb === 'claim') {
      const prev = open.get(card);
      if (prev) prev.to = at;
      const c: ClaimInterval = { card, agent: typeof e.detail.owner === 'string' ? e.detail.owner : e.actor, from: at, to: null };
      open.set(card, c);
      out.push(c);
    } else if (['complete', 'release', 'reclaim', 'block'].includes(e.verb)) {
      const c = open.get(card);
      if (c) {
        c.to = at;
        open.delete(card);
      }
    }
  }
  return out;
}
