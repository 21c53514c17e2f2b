/**
 * Lingering (the fleet-level `LINGER` flag): is the user's systemd manager kept
 * running without a login session? Without lingering no `mosaic-agent@…` unit survives the
 * operator's logout or a reboot. Read from logind's own marker file
 * `/var/lib/systemd/linger/<user>` (present ⇔ lingering on); where that directory does not exist
 * (logind never enabled lingering for anyone, or another layout) `loginctl show-user <user>
 * --property=Linger` is asked; when neither can say (no logind, a container) the state is
 * `unknown` with the reason and no flag is raised. Asked at most once per
 * {@link LINGER_RECHECK_MS} through a {@link LingerCache}, never once per tick.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runProbe } from './exec.js';

/** logind's marker directory (one empty file per lingering user). Override: `MOSAIC_LINGER_DIR`. */
export const DEFAULT_LINGER_DIR = '/var/lib/systemd/linger';
/** How often a console asks again, ms (30 s). */
export const LINGER_RECHECK_MS = 30_000;

/** What is known about lingering for one user. */
export interface LingerInfo {
  /** `on`, `off`, or `unknown` (neither the marker directory nor loginctl could say). */
  state: 'on' | 'off' | 'unknown';
  user: string;
  /** How it was decided, e.g. "no /var/lib/systemd/linger/alice", "loginctl: Linger=no", or why unknown. */
  evidence: string;
  /** When it was read, ISO-8601. */
  checkedAt: string;
}

/** The marker directory in use: `MOSAIC_LINGER_DIR` when set (absolute), else {@link DEFAULT_LINGER_DIR}. */
export function lingerDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.MOSAIC_LINGER_DIR?.trim();
  return dir && path.isAbsolute(dir) ? dir : DEFAULT_LINGER_DIR;
}

/**
 * Reads lingering for `user` from the marker directory `dir`: the file `<dir>/<user>` exists ⇒
 * on; the directory exists without it ⇒ off; no directory ⇒ null (cannot say). Never throws.
 */
export function readLingerMarker(dir: string, user: string): { state: 'on' | 'off'; evidence: string } | null {
  const file = path.join(dir, user);
  try {
    fs.statSync(file);
    return { state: 'on', evidence: `${file} present` };
  } catch {
    // below
  }
  try {
    if (fs.statSync(dir).isDirectory()) return { state: 'off', evidence: `no ${file}` };
  } catch {
    // no directory
  }
  return null;
}

/** Parses `loginctl show-user <user> --property=Linger` output: `Linger=yes|no` ⇒ on/off, else null. */
export function parseLoginctlLinger(stdout: string): 'on' | 'off' | null {
  const m = /^Linger=(yes|no)\s*$/m.exec(stdout);
  return m ? (m[1] === 'yes' ? 'on' : 'off') : null;
}

/**
 * Decides lingering for `user`: the marker directory first (no subprocess), else ONE
 * `loginctl show-user` (bounded by `timeoutMs`, default 2000). Never throws: `unknown` with the
 * reason when neither can say.
 */
export async function readLinger(user: string, opts: { dir?: string; timeoutMs?: number; signal?: AbortSignal; nowMs?: number } = {}): Promise<LingerInfo> {
  const dir = opts.dir ?? lingerDir();
  const checkedAt = new Date(opts.nowMs ?? Date.now()).toISOString();
  const marker = readLingerMarker(dir, user);
  if (marker) return { ...marker, user, checkedAt };
  const r = await runProbe('loginctl', ['show-user', user, '--property=Linger', '--no-pager'], { timeoutMs: opts.timeoutMs ?? 2000, signal: opts.signal });
  const state = r.ok ? parseLoginctlLinger(r.stdout) : null;
  if (state) return { state, user, evidence: `loginctl: Linger=${state === 'on' ? 'yes' : 'no'}`, checkedAt };
  const why = r.stderr.trim().split('\n').at(-1) || r.error || 'no Linger property';
  return { state: 'unknown', user, evidence: `cannot tell: no ${dir}, loginctl: ${why.slice(0, 160)}`, checkedAt };
}

/**
 * Keeps the last lingering answer for {@link LINGER_RECHECK_MS} (the console's poller holds one,
 * `--once` a fresh one): `get` returns the cached answer while it is fresh, else reads again.
 * Times are unix ms.
 */
export class LingerCache {
  private last: { info: LingerInfo; at: number } | null = null;

  constructor(
    private readonly user: string,
    private readonly opts: { dir?: string; recheckMs?: number } = {},
  ) {}

  /** The lingering state at `nowMs` (default now): cached when younger than the recheck interval. */
  async get(opts: { nowMs?: number; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<LingerInfo> {
    const now = opts.nowMs ?? Date.now();
    if (this.last && now - this.last.at < (this.opts.recheckMs ?? LINGER_RECHECK_MS)) return this.last.info;
    const info = await readLinger(this.user, { dir: this.opts.dir, timeoutMs: opts.timeoutMs, signal: opts.signal, nowMs: now });
    this.last = { info, at: now };
    return info;
  }
}
