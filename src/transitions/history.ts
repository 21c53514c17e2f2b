/**
 * Transition history (docs/transitions.md): `<run>/transitions.ndjson`, one {@link Transition} per line,
 * owner-only (0600). Written by whoever observes the fleet — the console or `events --follow` —
 * read by a console started later (its timeline and transitions view), by `events` without
 * `--follow`, and by `--once` for each agent's `since`.
 *
 * Why a file in the run dir and not the backlog's events table: it works without a backlog
 * (and while the backlog is down or being migrated), costs no database round trip per tick,
 * stays per tenant like the heartbeats next to it, and is readable with `tail`/`jq`.
 *
 * Bounded: on rotation (when the file passes {@link HISTORY_ROTATE_BYTES}) it is compacted in
 * place to the last {@link HISTORY_MAX_AGE_SECONDS} and at most {@link HISTORY_PER_SUBJECT}
 * transitions per agent (and for the fleet); readers read at most the last
 * {@link HISTORY_READ_BYTES}. Appends run under a proper-lockfile lock (`<file>.lock`).
 *
 * Two observers (a console and `events --follow`) see the same change at different ticks:
 * before appending, a transition is dropped when the file already holds the same change
 * (subject, kind, flag, from, to) from within {@link HISTORY_DEDUPE_SECONDS} — the first
 * observer writes it, the second finds it there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TRANSITION_SCHEMA, type Transition } from './diff.js';
import { openBoundedForWrite, readBoundedFile } from '../../lib/bounded-read.js';
import { messageOf } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';

/** History file name inside the run dir. */
export const HISTORY_FILE_NAME = 'transitions.ndjson';
/** Transitions older than this are dropped on rotation and ignored by readers, seconds (24 h). */
export const HISTORY_MAX_AGE_SECONDS = 24 * 3600;
/** At most this many transitions per agent (and for the fleet) survive a rotation. */
export const HISTORY_PER_SUBJECT = 200;
/** The file is compacted when it grows past this many bytes. */
export const HISTORY_ROTATE_BYTES = 1024 * 1024;
/** Readers read at most the last this many bytes. */
export const HISTORY_READ_BYTES = 2 * 1024 * 1024;
/** Two observers' records of one change within this many seconds are one record. */
export const HISTORY_DEDUPE_SECONDS = 120;

/** `<run>/transitions.ndjson` */
export function historyFile(runDir: string): string {
  return path.join(runDir, HISTORY_FILE_NAME);
}

/** Identity of a transition's subject and kind: `agent\0coder1\0readiness\0` / `fleet\0\0flag\0PAUSED`. */
export function subjectKey(t: Pick<Transition, 'scope' | 'agent' | 'kind' | 'flag'>): string {
  return `${t.scope}\u0000${t.agent ?? ''}\u0000${t.kind}\u0000${t.flag ?? ''}`;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Parses one history line; null when it is not a well-formed transition (garbage is skipped, never fatal). */
export function parseTransitionLine(line: string): Transition | null {
  if (!line.trim()) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!o || typeof o !== 'object') return null;
  if (o.schema !== TRANSITION_SCHEMA) return null;
  if (o.kind !== 'readiness' && o.kind !== 'flag') return null;
  if (o.scope !== 'agent' && o.scope !== 'fleet') return null;
  if (typeof o.at !== 'string' || !Number.isFinite(Date.parse(o.at))) return null;
  if (o.agent !== null && typeof o.agent !== 'string') return null;
  if (o.scope === 'agent' && typeof o.agent !== 'string') return null;
  for (const k of ['host', 'from', 'to'] as const) if (o[k] !== null && typeof o[k] !== 'string') return null;
  if (!isStringArray(o.evidence)) return null;
  if (o.kind === 'flag' && (typeof o.flag !== 'string' || (o.change !== 'raised' && o.change !== 'cleared'))) return null;
  return {
    schema: TRANSITION_SCHEMA,
    kind: o.kind,
    scope: o.scope,
    agent: o.agent as string | null,
    host: o.host as string | null,
    from: o.from as string | null,
    to: o.to as string | null,
    ...(o.kind === 'flag' ? { flag: o.flag as string, change: o.change as 'raised' | 'cleared' } : {}),
    at: o.at,
    evidence: o.evidence,
    attention: o.attention === true,
  };
}

/**
 * Reads the last `maxBytes` of `file` as text (whole lines only); '' when absent. Through the
 * one bounded reader (lib/bounded-read.ts): a FIFO, a device, a directory or a symlink planted
 * at the path is refused at once (never a blocking open), a huge file costs `maxBytes`.
 * Throws {@link BoundedReadError}.
 */
function readTail(file: string, maxBytes: number): string {
  const read = readBoundedFile(file, { maxBytes, tail: true, noFollow: true });
  if (!read) return '';
  let text = read.bytes.toString('utf8');
  // Started mid-file: drop the partial first line.
  if (read.truncated) text = text.slice(text.indexOf('\n') + 1);
  return text;
}

/** What {@link readHistory} found. */
export interface HistoryRead {
  /** Chronological (oldest first), within the age bound. */
  transitions: Transition[];
  /** Why the file could not be read (e.g. `…/transitions.ndjson: EACCES`), null when fine or absent. */
  error: string | null;
}

/**
 * Reads the history `file`: at most the last `maxBytes` (default {@link HISTORY_READ_BYTES}),
 * transitions no older than `maxAgeSeconds` (default 24 h) before `nowMs` (unix ms, default
 * now), chronological. A missing file is an empty history; an unreadable one is reported in
 * `error` (never thrown); malformed lines are skipped.
 */
export function readHistory(file: string, opts: { nowMs?: number; maxAgeSeconds?: number; maxBytes?: number } = {}): HistoryRead {
  const nowMs = opts.nowMs ?? Date.now();
  const oldest = nowMs - (opts.maxAgeSeconds ?? HISTORY_MAX_AGE_SECONDS) * 1000;
  let text: string;
  try {
    text = readTail(file, opts.maxBytes ?? HISTORY_READ_BYTES);
  } catch (error) {
    return { transitions: [], error: messageOf(error, file) };
  }
  const transitions: Transition[] = [];
  for (const line of text.split('\n')) {
    const t = parseTransitionLine(line);
    if (t && Date.parse(t.at) >= oldest) transitions.push(t);
  }
  transitions.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { transitions, error: null };
}

/** The subject {@link pruneHistory} bounds per: an agent (of a scope), or the fleet. Pure. */
export function pruneSubject(t: Pick<Transition, 'scope' | 'agent'>): string {
  return `${t.scope}\u0000${t.agent ?? ''}`;
}

/**
 * Keeps what the history keeps: transitions within `maxAgeSeconds` of `nowMs` and at most
 * `perSubject` per agent (and for the fleet), newest kept. Chronological in and out. Pure.
 */
export function pruneHistory(transitions: readonly Transition[], nowMs: number, opts: { maxAgeSeconds?: number; perSubject?: number } = {}): Transition[] {
  const oldest = nowMs - (opts.maxAgeSeconds ?? HISTORY_MAX_AGE_SECONDS) * 1000;
  const per = opts.perSubject ?? HISTORY_PER_SUBJECT;
  const counts = new Map<string, number>();
  const kept: Transition[] = [];
  for (const t of [...transitions].reverse()) {
    if (Date.parse(t.at) < oldest) continue;
    const who = pruneSubject(t);
    const n = counts.get(who) ?? 0;
    if (n >= per) continue;
    counts.set(who, n + 1);
    kept.push(t);
  }
  return kept.reverse();
}

/**
 * Drops from `fresh` the transitions `recorded` already holds: same subject, kind, flag,
 * from and to, recorded within `windowSeconds` of it (another observer saw the same change).
 * Pure.
 */
export function dedupeAgainst(recorded: readonly Transition[], fresh: readonly Transition[], windowSeconds = HISTORY_DEDUPE_SECONDS): Transition[] {
  const last = new Map<string, Transition>();
  for (const t of recorded) last.set(subjectKey(t), t);
  return fresh.filter((t) => {
    const prev = last.get(subjectKey(t));
    if (!prev || prev.from !== t.from || prev.to !== t.to) return true;
    return Math.abs(Date.parse(t.at) - Date.parse(prev.at)) > windowSeconds * 1000;
  });
}

/** Opens for writing through the one bounded open (non-blocking, regular files only, no symlink), owner-only. */
function openOwnerOnly(file: string, append: boolean): number {
  const fd = openBoundedForWrite(file, { append, mode: 0o600, noFollow: true });
  const st = fs.fstatSync(fd);
  if ((st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
  return fd;
}

/** What {@link appendHistory} did. */
export interface HistoryAppend {
  /** The transitions written (those not already recorded by another observer). */
  written: Transition[];
  /** True when the file was compacted. */
  rotated: boolean;
  /** Why nothing was written (lock held too long, I/O error), null on success. */
  error: string | null;
}

/**
 * Appends `transitions` to the history `file` (created 0600, its directory 0700 when missing),
 * under a proper-lockfile lock (`<file>.lock`, stale after 10 s, waited for ≈ 2 s), after
 * dropping those another observer already recorded ({@link dedupeAgainst}); compacts the file
 * ({@link pruneHistory}, atomic rename) once it passes `rotateBytes`. Never throws: failures
 * come back in `error`. Options: `nowMs` (unix ms), `rotateBytes`, `dedupeSeconds`.
 */
export async function appendHistory(
  file: string,
  transitions: readonly Transition[],
  opts: { nowMs?: number; rotateBytes?: number; dedupeSeconds?: number; perSubject?: number; maxAgeSeconds?: number } = {},
): Promise<HistoryAppend> {
  if (!transitions.length) return { written: [], rotated: false, error: null };
  let release: (() => Promise<void>) | null = null;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { default: lockfile } = await import('proper-lockfile');
    release = await lockfile.lock(file, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 10, factor: 1.3, minTimeout: 30, maxTimeout: 300 },
    });
    const nowMs = opts.nowMs ?? Date.now();
    // The dedupe window only needs the recent end of the file.
    const recent = readTail(file, 64 * 1024)
      .split('\n')
      .map(parseTransitionLine)
      .filter((t): t is Transition => t !== null);
    const written = dedupeAgainst(recent, transitions, opts.dedupeSeconds);
    let rotated = false;
    if (written.length) {
      const fd = openOwnerOnly(file, true);
      try {
        fs.writeSync(fd, written.map((t) => `${JSON.stringify(t)}\n`).join(''));
        if (fs.fstatSync(fd).size > (opts.rotateBytes ?? HISTORY_ROTATE_BYTES)) rotated = true;
      } finally {
        fs.closeSync(fd);
      }
    }
    if (rotated) {
      // Readers never look further back than HISTORY_READ_BYTES: compaction need not either.
      const all = readTail(file, HISTORY_READ_BYTES)
        .split('\n')
        .map(parseTransitionLine)
        .filter((t): t is Transition => t !== null);
      const kept = pruneHistory(all, nowMs, { perSubject: opts.perSubject, maxAgeSeconds: opts.maxAgeSeconds });
      writeFileAtomic(file, kept.map((t) => `${JSON.stringify(t)}\n`).join(''), { mode: 0o600 });
    }
    return { written, rotated, error: null };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { written: [], rotated: false, error: e.code === 'ELOCKED' ? `${file}: locked by another observer for too long` : messageOf(error, file) };
  } finally {
    await release?.().catch(() => {});
  }
}

/**
 * When `agent` entered `readiness`, from `history` (chronological): the `at` of its latest
 * readiness transition when that one went to `readiness`; null when the history does not
 * know (no transition, or the last one recorded went elsewhere — the change was not observed).
 */
export function sinceFromHistory(history: readonly Transition[], agent: string, readiness: string): string | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const t = history[i];
    if (!t || t.scope !== 'agent' || t.kind !== 'readiness' || t.agent !== agent) continue;
    return t.to === readiness ? t.at : null;
  }
  return null;
}

/**
 * Serializes an observer's appends to the history (one at a time, in order) without making
 * the caller wait: the console's poller and `events --follow` hand each tick's transitions to
 * {@link HistoryWriter.append} and go on. Failures go to `onError` (one line each).
 */
export class HistoryWriter {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  /** Appends done, transitions written (after dedupe), failures. */
  readonly stats = { appends: 0, written: 0, failures: 0 };

  constructor(
    readonly file: string,
    private readonly onError: (error: string) => void = () => {},
    private readonly onWritten: (written: Transition[]) => void = () => {},
  ) {}

  /** Queues `transitions` for appending (returns at once). */
  append(transitions: readonly Transition[]): void {
    if (!transitions.length) return;
    const batch = [...transitions];
    this.pending++;
    this.chain = this.chain.then(async () => {
      const r = await appendHistory(this.file, batch);
      this.pending--;
      this.stats.appends++;
      this.stats.written += r.written.length;
      if (r.error) {
        this.stats.failures++;
        this.onError(r.error);
      } else if (r.written.length) this.onWritten(r.written);
    });
  }

  /** Resolves when every queued append is done. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.chain;
  }
}
