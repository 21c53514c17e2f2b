/**
 * Reading agents' screens for the snapshot, cheaply: a pane's visible screen is
 * captured only where it matters — never read before, its output moved since the last capture,
 * its heartbeat changed since then, the agent is or was waiting / stuck, or the last capture is
 * older than a refresh period — at most `maxPerTick` panes per tick (waiting/stuck first, then
 * the longest unread), ALL of one socket's panes in ONE `tmux capture-pane … ; capture-pane …`
 * call. So a tick costs at most one extra subprocess per socket, whatever the fleet's size, and
 * none at all while nothing moves. Each agent keeps its last classification (the cache), aged
 * on every tick it is not read again.
 */
import { randomBytes } from 'node:crypto';
import { runProbe, tmuxEnv, tmuxSocketArgs } from './exec.js';
import { classifyScreen, type CompiledScreenRules } from './screen.js';
import type { ScreenReading } from './types.js';

/** Default most panes captured per tick (rotating when more need it). */
export const DEFAULT_SCREEN_CAPTURES_PER_TICK = 8;
/** A beat older than this (seconds) counts as "no hooks here" when ranking first reads. */
const NO_HOOKS_BEAT_AGE_SECONDS = 120;
/** Most bytes of arguments in one batched capture call (tmux refuses longer command lines). */
export const MAX_BATCH_BYTES = 4000;
/** Default seconds after which a pane is read again even if its output did not move. */
export const DEFAULT_SCREEN_REFRESH_SECONDS = 60;

/** One agent whose screen could be read this tick. */
export interface ScreenCandidate {
  /** Cache key (the agent's name; unique per poller). */
  agent: string;
  /** tmux socket (null = default). */
  socket: string | null;
  /** Pane id from `list-panes` (`%12`): captures target it, not the session name. */
  paneId: string;
  /** Roster runtime (selects the rules). */
  runtime: string;
  /** Runtime version when known (selects the rules' version range), else null. */
  version?: string | null;
  /** Unix seconds of the pane's last output (tmux activity), null when unknown. */
  activity: number | null;
  /** Unix seconds of the agent's heartbeat, null when none. */
  beatTs: number | null;
  /** The beat's state says the agent waits or is stuck. */
  beatAttention: boolean;
}

interface CacheEntry {
  classification: ReturnType<typeof classifyScreen>;
  /** Consecutive captures read as `unknown` (this one included), 0 after a recognised one. */
  unknownReads: number;
  /** Unix seconds of the capture that produced it, and of the first capture that saw this state. */
  capturedAt: number;
  since: number;
  /** Pane and beat as they were at that capture. */
  paneId: string;
  beatTs: number | null;
}

/** What one tick's reads cost and met. */
export interface ScreenReadReport {
  /** Panes captured this tick. */
  captured: number;
  /** Panes that wanted a read but waited for a later tick (over `maxPerTick`). */
  deferred: number;
  /** tmux calls made (one per socket for up to ~40 panes; `maxPerTick` 8 always fits in one). */
  calls: number;
  durationMs: number;
  /** Why a socket's captures failed (the cache is kept), or null. */
  error: string | null;
}

/**
 * The per-poller screen cache and its bounded, batched reads. Keep one per poller (the console)
 * so steady state costs nothing; `--once` uses a fresh one (every candidate is read, still one
 * call per socket, bounded by `maxPerTick`).
 */
export class ScreenReader {
  private readonly cache = new Map<string, CacheEntry>();
  readonly maxPerTick: number;
  readonly refreshSeconds: number;

  constructor(opts: { maxPerTick?: number; refreshSeconds?: number } = {}) {
    this.maxPerTick = Math.max(1, opts.maxPerTick ?? DEFAULT_SCREEN_CAPTURES_PER_TICK);
    this.refreshSeconds = opts.refreshSeconds ?? DEFAULT_SCREEN_REFRESH_SECONDS;
  }

  /**
   * Which candidates need a read now, most urgent first, cut to `maxPerTick`: never read (a
   * waiting/stuck beat first, then no or an old beat), another pane, output since the last capture (same second counts: activity has 1 s resolution), a new
   * beat, waiting/stuck (by beat or last screen), or a capture older than `refreshSeconds`.
   * Returns the chosen ones and how many were deferred. Pure apart from reading the cache.
   */
  plan(candidates: readonly ScreenCandidate[], nowSeconds: number): { read: ScreenCandidate[]; deferred: number } {
    const scored: { c: ScreenCandidate; urgency: number; age: number }[] = [];
    for (const c of candidates) {
      const e = this.cache.get(c.agent);
      let urgency = 0;
      // Never read: where the screen tells most first (a waiting/stuck beat, then no beat or an
      // old one — no hooks — then the rest), so a one-shot `--once` spends its reads well.
      if (!e || e.paneId !== c.paneId) urgency = c.beatAttention ? 6 : c.beatTs === null || nowSeconds - c.beatTs > NO_HOOKS_BEAT_AGE_SECONDS ? 5 : 3;
      else {
        const attention = c.beatAttention || e.classification.state === 'waiting' || e.classification.state === 'error';
        const moved = c.activity !== null && c.activity >= Math.floor(e.capturedAt);
        const newBeat = c.beatTs !== null && c.beatTs !== e.beatTs;
        if (attention && (moved || newBeat)) urgency = 4;
        else if (moved || newBeat) urgency = 2;
        else if (nowSeconds - e.capturedAt >= this.refreshSeconds) urgency = 1;
      }
      if (urgency > 0) scored.push({ c, urgency, age: e ? nowSeconds - e.capturedAt : Infinity });
    }
    scored.sort((a, b) => b.urgency - a.urgency || b.age - a.age);
    const read = scored.slice(0, this.maxPerTick).map((s) => s.c);
    return { read, deferred: scored.length - read.length };
  }

  /**
   * Reads the planned candidates: one `tmux -L <socket> capture-pane -p -t %id ; display-message
   * -p <marker> ; …` per socket (concurrently), each screen classified with `rules` and cached.
   * A failed call keeps the old readings (its error is reported). Never throws.
   */
  async read(
    planned: readonly ScreenCandidate[],
    rules: CompiledScreenRules,
    opts: { nowSeconds: number; timeoutMs?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv; deferred?: number },
  ): Promise<ScreenReadReport> {
    const started = performance.now();
    const bySocket = new Map<string, ScreenCandidate[]>();
    for (const c of planned) {
      const list = bySocket.get(c.socket ?? '');
      if (list) list.push(c);
      else bySocket.set(c.socket ?? '', [c]);
    }
    const errors: string[] = [];
    let captured = 0;
    // tmux refuses a command line over its message size ("command too long"): a socket's batch
    // is cut into calls of at most MAX_BATCH_BYTES of arguments (8 panes fit in one with room).
    const batches: ScreenCandidate[][] = [];
    for (const list of bySocket.values()) {
      let batch: ScreenCandidate[] = [];
      let bytes = 0;
      for (const c of list) {
        const cost = 2 * c.paneId.length + 80;
        if (batch.length && bytes + cost > MAX_BATCH_BYTES) {
          batches.push(batch);
          batch = [];
          bytes = 0;
        }
        batch.push(c);
        bytes += cost;
      }
      if (batch.length) batches.push(batch);
    }
    await Promise.all(
      batches.map(async (list) => {
        const socket = list[0]?.socket;
        if (socket === undefined) return;
        // A nonce per call: a screen cannot forge the marker that ends another pane's text.
        const nonce = randomBytes(6).toString('hex');
        const args = ['-u', ...tmuxSocketArgs(socket)];
        list.forEach((c, i) => {
          if (i) args.push(';');
          args.push('capture-pane', '-p', '-t', c.paneId, ';', 'display-message', '-p', '-t', c.paneId, `::mosaic-screen:${nonce}:#{pane_id}::`);
        });
        const result = await runProbe('tmux', args, { timeoutMs: opts.timeoutMs ?? 2000, signal: opts.signal, env: opts.env ?? tmuxEnv() });
        // Whatever came before a failure is still good (tmux stops the sequence at the failed command).
        const parts = splitCaptures(result.stdout, nonce);
        for (const c of list) {
          const text = parts.get(c.paneId);
          if (text === undefined) continue;
          captured++;
          this.store(c, classifyScreen(c.runtime, c.version ?? null, text, rules), opts.nowSeconds);
        }
        if (!result.ok) errors.push(`screens on socket ${socket ?? 'default'}: ${result.stderr.trim().split('\n')[0] || result.error || 'capture failed'}`);
      }),
    );
    return { captured, deferred: opts.deferred ?? 0, calls: batches.length, durationMs: performance.now() - started, error: errors[0] ?? null };
  }

  /** Caches a classification (pure bookkeeping; exposed for tests and for callers that captured elsewhere). */
  store(c: Pick<ScreenCandidate, 'agent' | 'paneId' | 'beatTs'>, classification: ReturnType<typeof classifyScreen>, nowSeconds: number): void {
    const prev = this.cache.get(c.agent);
    const same =
      prev && prev.paneId === c.paneId && prev.classification.state === classification.state && prev.classification.prompt?.id === classification.prompt?.id;
    const unknownReads = classification.state === 'unknown' ? (prev && prev.paneId === c.paneId ? prev.unknownReads : 0) + 1 : 0;
    this.cache.set(c.agent, {
      classification,
      unknownReads,
      capturedAt: nowSeconds,
      since: same ? prev.since : nowSeconds,
      paneId: c.paneId,
      beatTs: c.beatTs,
    });
  }

  /** The agent's last reading, aged to `nowSeconds`; null when never read (or read on another pane). */
  reading(agent: string, paneId: string, nowSeconds: number): ScreenReading | null {
    const e = this.cache.get(agent);
    if (!e || e.paneId !== paneId) return null;
    const { classification: k } = e;
    return {
      state: k.state,
      rules: k.rules,
      ageSeconds: Math.max(0, Math.floor(nowSeconds - e.capturedAt)),
      sinceSeconds: Math.max(0, Math.floor(nowSeconds - e.since)),
      ...(k.prompt ? { prompt: k.prompt } : {}),
      ...(k.error ? { error: k.error } : {}),
      ...(k.inputText !== undefined ? { inputText: k.inputText } : {}),
      ...(k.idleMayStream ? { idleMayStream: true } : {}),
      ...(k.version ? { version: k.version } : {}),
      ...(k.stale ? { stale: k.stale } : {}),
      ...(k.unrecognised ? { unrecognised: k.unrecognised } : {}),
      ...(e.unknownReads ? { unknownReads: e.unknownReads } : {}),
    };
  }

  /** Forgets agents no longer in `keep` (roster changes), so the cache stays bounded by the roster. */
  prune(keep: ReadonlySet<string>): void {
    for (const k of this.cache.keys()) if (!keep.has(k)) this.cache.delete(k);
  }
}

/** Splits a batched capture's stdout at the nonce markers: pane id ⇒ its screen text. */
export function splitCaptures(stdout: string, nonce: string): Map<string, string> {
  const out = new Map<string, string>();
  const marker = new RegExp(`^::mosaic-screen:${nonce}:(%\\d+)::$`);
  let buf: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = marker.exec(line);
    if (m?.[1]) {
      out.set(m[1], buf.join('\n'));
      buf = [];
    } else buf.push(line);
  }
  return out;
}
