/**
 * The snapshot: one truthful, joined view of a Mosaic fleet (schema/snapshot.schema.json). The console's store
 * holds exactly this; `--once --json` prints it. Shape documented by
 * `schema/snapshot.schema.json` (keep both in step; the tests validate real output).
 */

import type { BacklogSection } from '../../backlog/snapshot.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { AgentFlag, HeartbeatInfo, PaneInfo, PausedFlag, ProcessInfo, Readiness, ScreenReading, UnitInfo } from '../../fleet/types.js';
import type { FloorReport, IdleWithWork } from '../../fleet/rules.js';
import type { Pace, QuotaRow } from '../../fleet/spend/report.js';
import type { SpendTokens } from '../../fleet/spend/types.js';

export type { AgentFlag, HeartbeatInfo, PaneInfo, PausedFlag, ProcessInfo, Readiness, ScreenPrompt, ScreenReading, UnitInfo } from '../../fleet/types.js';

export const SNAPSHOT_SCHEMA = 'mosaic-top/snapshot@1' as const;

/** Fleet-level flags: LINGER = lingering is off for the user; OVER-BUDGET = today's fleet spend is over the roster's `budget:`. */
export type FleetFlag = 'LINGER' | 'OVER-BUDGET';

/** How one probe went during this snapshot. */
export interface ProbeReport {
  ok: boolean;
  /** Wall time of the probe, milliseconds. */
  durationMs: number;
  /** Why it failed or degraded, e.g. "tmux: no server on socket mosaic-fleet", "systemd: no user bus". */
  error: string | null;
}

export interface ClaimInfo {
  cardId: string;
  title: string;
  /** Seconds left on the claim's TTL (negative when expired). */
  secondsLeft: number;
}

export interface AgentRow {
  name: string;
  class: string | null;
  /** The roster's runtime, else the agent .env's MOSAIC_AGENT_RUNTIME, else `pi` (upstream's launcher). */
  runtime: string;
  /** Where `runtime` came from when not the roster: `env` (.env MOSAIC_AGENT_RUNTIME) or `default` (pi). */
  runtimeFrom?: 'env' | 'default';
  /** Working directory: the agent's roster entry, else .env MOSAIC_AGENT_WORKDIR, else the roster default. */
  workingDirectory?: string | null;
  modelHint: string | null;
  host: string | null;
  /** tmux socket name, null = the default socket (no -L). */
  socket: string | null;
  /**
   * The ssh destination this agent was probed through (roster `ssh:`, else `host:`) when it lives
   * on another host; absent for agents of this host. Such agents are read-only here: actions refuse them.
   */
  ssh?: string;
  readiness: Readiness;
  /**
   * ISO time the agent entered its current readiness, from the transition history
   * (`<run>/transitions.ndjson`, src/transitions/history.ts); null when the history does not
   * know. Always set by collectSnapshot (optional here so hand-built rows need not carry it).
   */
  since?: string | null;
  /** The signals that decided readiness, with their ages, e.g. "heartbeat 12s old, state=busy". */
  evidence: string[];
  flags: AgentFlag[];
  pane: PaneInfo | null;
  heartbeat: HeartbeatInfo | null;
  unit: UnitInfo | null;
  /**
   * `mosaic-fleet-orchestrator.service`, joined to the fleet's orchestrator row (the first agent
   * of this host with `class: orchestrator`) when systemd knows that unit; absent otherwise.
   */
  orchestratorUnit?: UnitInfo;
  process: ProcessInfo | null;
  claim: ClaimInfo | null;
  /**
   * The pane's screen as the screen rules last read it: state, the rules used, the
   * prompt (tool, command/file, block, id) or error shown, the input box's text. Absent when not
   * read (no rules for the runtime, no live pane, a remote agent). Untrusted text: sanitize.
   */
  screen?: ScreenReading;
  /**
   * Today's spend (local time) from the runtime's own records (src/snapshot/spend.ts, docs/spend.md):
   * tokens, costUsd (null when no request is priced), since, unpricedModels, quota (subscription
   * windows with pace). Absent for remote agents and when the meter did not run.
   */
  spend?: AgentSpend;
}

export interface UnmanagedSession {
  socket: string | null;
  /** The roster's `host:` of a remote socket's session; null on this host. */
  host: string | null;
  session: string;
  panes: number;
  currentCommand: string;
  idleSeconds: number | null;
}

export interface FleetSummary {
  /** The pause in force, with `source`: `run-dir` (<run>/PAUSED), `store` (shared store, server tier) or `both`. */
  paused: PausedFlag | null;
  /** The floor of the roster's profile (fleet/rules.ts evaluateFloor; default orchestrator + enhancer). */
  floor: FloorReport;
  /**
   * Upstream's "exactly one orchestrator": the roster agents of the profile's lead class and,
   * when there is more than one, the problem.
   */
  lead?: { class: string | null; agents: string[]; problem: string | null };
  /**
   * NS-3 movement: available agents without a claim while claimable cards wait (each also
   * flagged IDLE-WITH-WORK); null when none, when paused, or when the backlog was not read.
   */
  idleWithWork?: IdleWithWork | null;
  counts: Record<Readiness, number>;
  /** Distinct sockets probed (null = default socket). */
  sockets: (string | null)[];
  holderSession: string | null;
  /**
   * Fleet-wide units systemd knows (`mosaic-tmux-holder.service`, `mosaic-fleet-orchestrator.service`;
   * not-found ones omitted), with BOOT-ENABLE evidence in `errors` when active but not enabled.
   * Empty when systemd is unavailable. Added by the fleet issue.
   */
  units?: UnitInfo[];
  /**
   * Lingering of the tenant's systemd user manager (fleet/linger.ts), checked at most every
   * 30 s; absent when not checked (systemd unavailable, or the caller keeps no linger cache).
   */
  linger?: { state: 'on' | 'off' | 'unknown'; user: string; evidence: string; checkedAt: string };
  /** Fleet-level flags: `LINGER` when lingering is off, `OVER-BUDGET`. Absent or empty when none. */
  flags?: FleetFlag[];
  /** Today's spend of the fleet (sum of the agents', unattributed apart, worst pace); absent when the meter did not run. */
  spend?: FleetSpend;
}

export interface Snapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  /** ISO-8601 time the snapshot was taken. */
  generatedAt: string;
  host: string;
  /** The tenant is the Unix user (upstream: uid per tenant). */
  tenant: string;
  /** Every path in use; `databaseUrl` is masked (`postgres://u:***@h/db`) or null. */
  paths: MosaicPaths;
  fleet: FleetSummary;
  agents: AgentRow[];
  unmanaged: UnmanagedSession[];
  /** Keyed by probe name: `roster`, `tmux:<socket|default>`, `ssh:<target>` (one per remote host), `systemd`, `heartbeats`, `proc`, `paused`, `backlog`, `screens` (screen reads, when any runtime has rules). */
  probes: Record<string, ProbeReport>;
  /** Human-readable errors (roster parse errors with file:line:column, probe failures). */
  errors: string[];
  /** The backlog section; absent when the backlog was not read. */
  backlog?: BacklogSection;
}

/** An agent's spend today. */
export interface AgentSpend {
  tokens: SpendTokens;
  costUsd: number | null;
  /** ISO start of the period (local midnight today). */
  since: string;
  unpricedModels: string[];
  quota: QuotaRow[];
}

/** The fleet's spend today: the agents' sum, what could not be attributed, the worst pace. */
export interface FleetSpend extends AgentSpend {
  unattributed: { tokens: SpendTokens; costUsd: number | null; reasons: string[] };
  worstPace: Pace | null;
  /** The fleet's roster budget exceeded: why (null when within or none). */
  overBudget: string | null;
  /** Each claimed card's current claim: its owner's tokens since the claim (all claims: `mosaic-top spend --by card`). */
  cards?: CardSpend[];
}

/** Spend of a claimed card's current claim. */
export interface CardSpend {
  card: string;
  agent: string;
  /** ISO time of the claim. */
  since: string;
  tokens: SpendTokens;
  costUsd: number | null;
  requests: number;
}
