/**
 * The fleet's own vocabulary: what one probe saw of an agent (pane, heartbeat, unit, process),
 * the readiness it was given and the flags it raised, and the fleet's pause. The ground floor
 * of the snapshot: `fleet/` parsers produce these, `src/snapshot` joins them into agent rows.
 */

/**
 * Readiness, decided in this order (upstream H1/H1b/H2: dead first, available last).
 * `waiting` (the runtime waits for a human: permission prompt, question, dialog) and `stuck`
 * (its last turn ended on a rate/usage limit, rejected credentials or an API error) come only
 * from positive runtime evidence: a heartbeat's `state=` or the pane's screen (screen rules).
 */
export type Readiness = 'dead' | 'waiting' | 'stuck' | 'unknown' | 'stale' | 'working' | 'available';

export const READINESS_ORDER: readonly Readiness[] = ['dead', 'waiting', 'stuck', 'unknown', 'stale', 'working', 'available'];

/**
 * Per-agent flags (docs/fleet.md): DRIFT, BOOT-ENABLE, NEEDS-RESTART, EXPIRED-CLAIM,
 * IDLE-WITH-WORK; LIMITED (stuck on a rate or usage limit) and AUTH (stuck on rejected
 * credentials). NEEDS-RESTART: the unit is active (or activating) but the agent's pane is dead
 * or missing — systemd will not bring it back (upstream's agent units are oneshot).
 * RULES-STALE: the screen rules may not know the runtime's screens (its version is newer than
 * the rules were proven on, or its pane reads unknown for several reads while it runs the runtime).
 */
export type AgentFlag =
  'DRIFT' | 'BOOT-ENABLE' | 'NEEDS-RESTART' | 'EXPIRED-CLAIM' | 'LIMITED' | 'AUTH' | 'IDLE-WITH-WORK' | 'RULES-STALE' | 'OVER-PACE' | 'OVER-BUDGET';

/** Heartbeat states of protocol v1. */
export type HeartbeatState = 'busy' | 'idle' | 'waiting' | 'stuck';

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
  state: HeartbeatState | null;
  /**
   * `reason=` of the beat: what a `waiting` runtime waits for, why a `stuck` one is stuck
   * (untrusted: control characters removed, one line, at most 200 characters — sanitize
   * before display anyway). Absent (or null) when the beat has none.
   */
  reason?: string | null;
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
  /**
   * Where the pause was found (snapshot only): `run-dir` = `<run>/PAUSED` on this host (what
   * upstream's tools read), `store` = the shared backlog store (server tier: every host honours
   * it), `both`. Absent on flags read straight from one place.
   */
  source?: 'run-dir' | 'store' | 'both';
}

/** What a pane's screen shows, as the screen rules read it (fleet/screen.ts). */
export type ScreenState = 'idle' | 'busy' | 'queued' | 'waiting' | 'error' | 'unknown';

/** A permission prompt or question read off a screen. */
export interface ScreenPrompt {
  /**
   * `permission` (a tool asks to run), `question` (the runtime asks the operator something) or
   * `dialog` (a screen of the runtime's own that waits for a human, e.g. Claude Code's startup
   * permission-mode choice: `tool` names it; never answered by mosaic-top).
   */
  kind: 'permission' | 'question' | 'dialog';
  /** The tool as the runtime names it (`Bash`, `Write`, `Edit`, `shell`…), or null when unseen. */
  tool: string | null;
  /** The command or file the tool would run/touch, one line, as shown (untrusted). */
  detail: string | null;
  /** The prompt block as shown (lines joined with `\n`, trailing blanks trimmed; untrusted). */
  block: string;
  /** Identity of the prompt: hash of runtime, tool and normalized block (answer-prompt issue). */
  id: string;
}

/** An API error / limit read off a screen, at the end of the transcript. */
export interface ScreenError {
  kind: 'rate_limit' | 'auth' | 'api';
  /** The matched line (untrusted). */
  text: string;
}

/** A pane's screen as last classified (agent row field `screen`). */
export interface ScreenReading {
  state: ScreenState;
  /** Rules that read it: `<runtime>` or `<runtime>@<range>`, and `(override)` when from the home's file. */
  rules: string;
  /** Seconds since the pane's screen was captured (0 = this tick). */
  ageSeconds: number;
  /** Seconds the screen has shown this state (since the capture that first saw it), 0 when new. */
  sinceSeconds: number;
  prompt?: ScreenPrompt;
  error?: ScreenError;
  /** Text left in the runtime's input box (empty string when empty; absent when the box was not found). */
  inputText?: string;
  /** The rules say this runtime's idle-looking screen may be a reply still streaming (Codex). */
  idleMayStream?: boolean;
  /** The runtime's version read from its live process (`2.1.332`); absent when unknown (remote, unreadable, not a known package). */
  version?: string;
  /** Why the rules may not know this version's screens (newer than proven, outside every range): RULES-STALE evidence. */
  stale?: string;
  /** For an `unknown` screen: its last non-blank line, what the rules did not recognise (untrusted, ≤ 80 chars). */
  unrecognised?: string;
  /** Consecutive captures (this one included) the rules read as `unknown`; 0 when this one was recognised. */
  unknownReads?: number;
}
