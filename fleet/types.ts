/**
 * The fleet's own vocabulary: what one probe saw of an agent (pane, heartbeat, unit, process),
 * the readiness it was given and the flags it raised, and the fleet's pause. The ground floor
 * of the snapshot: `fleet/` parsers produce these, `src/snapshot` joins them into agent rows.
 */

/** Readiness, decided in this order (upstream H1/H1b/H2: dead first, available last). */
export type Readiness = 'dead' | 'unknown' | 'stale' | 'working' | 'available';

export const READINESS_ORDER: readonly Readiness[] = ['dead', 'unknown', 'stale', 'working', 'available'];

/**
 * Per-agent flags: DRIFT, BOOT-ENABLE, NEEDS-RESTART, EXPIRED-CLAIM (docs/fleet.md).
 * NEEDS-RESTART: the unit is active (or activating) but the agent's pane is dead or missing —
 * systemd will not bring it back (upstream's agent units are oneshot).
 */
export type AgentFlag = 'DRIFT' | 'BOOT-ENABLE' | 'NEEDS-RESTART' | 'EXPIRED-CLAIM';

export interface PaneInfo {
  /** tmux target `=<name>:0.0`. */
  target: string;
  paneId: string;
  pid: number | null;
  currentCommand: string;
  dead: boolean;
  deadStatus: number | null;
  /** Pane title (untrusted: sanitize before display). */
  title: string;
  width: number;
  height: number;
  /** Seconds since last activity (pane, else window, else session activity), clamped ≥ 0; null if unknown. */
  idleSeconds: number | null;
}

export interface HeartbeatInfo {
  path: string;
  /** Protocol version seen (`v=`), null for legacy files. */
  version: number | null;
  /** Unix seconds of the beat (clamped to now if it was in the future). */
  ts: number;
  ageSeconds: number;
  state: 'busy' | 'idle' | null;
  intervalSeconds: number | null;
  pid: number | null;
  card: string | null;
  /** Untrusted free text: sanitize before display. */
  note: string | null;
  /** True when some fields were missing or unreadable (legacy `ts=`-only, garbage lines, mtime used). */
  partial: boolean;
  /** Seconds the beat was in the future (clock skew), 0 when none. */
  skewSeconds: number;
  /** Human-readable problems met while parsing, e.g. "line 3: no '='", "ts missing: used file mtime". */
  problems: string[];
}

export interface UnitInfo {
  name: string;
  loadState: string;
  activeState: string;
  subState: string;
  /** `UnitFileState`: enabled, disabled, static, … (empty when not found). */
  unitFileState: string;
  mainPid: number | null;
}

export interface ProcessInfo {
  /** What the agent is expected to run: first word of MOSAIC_AGENT_COMMAND, else the roster runtime. */
  expected: string;
  /** comm and argv[0..1] basenames seen for the pane pid and its descendants. */
  seen: string[];
  /** True when `expected` appears among `seen`. */
  matches: boolean;
}

export interface PausedFlag {
  /** ISO time or raw `at=` value of the pause. */
  at: string | null;
  by: string | null;
  reason: string | null;
}
