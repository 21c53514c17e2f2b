/**
 * The snapshot: one truthful, joined view of a Mosaic fleet (schema/snapshot.schema.json). The console's store
 * holds exactly this; `--once --json` prints it. Shape documented by
 * `schema/snapshot.schema.json` (keep both in step; the tests validate real output).
 */

import type { BacklogSection } from '../../backlog/snapshot.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { AgentFlag, HeartbeatInfo, PaneInfo, PausedFlag, ProcessInfo, Readiness, UnitInfo } from '../../fleet/types.js';

export type { AgentFlag, HeartbeatInfo, PaneInfo, PausedFlag, ProcessInfo, Readiness, UnitInfo } from '../../fleet/types.js';
export { READINESS_ORDER } from '../../fleet/types.js';

export const SNAPSHOT_SCHEMA = 'mosaic-top/snapshot@1' as const;

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
  runtime: string;
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
  /** The signals that decided readiness, with their ages, e.g. "heartbeat 12s old, state=busy". */
  evidence: string[];
  flags: AgentFlag[];
  pane: PaneInfo | null;
  heartbeat: HeartbeatInfo | null;
  unit: UnitInfo | null;
  process: ProcessInfo | null;
  claim: ClaimInfo | null;
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
  paused: PausedFlag | null;
  floor: { ok: boolean; orchestrators: number; enhancers: number; reason: string | null };
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
  /** Keyed by probe name: `roster`, `tmux:<socket|default>`, `ssh:<target>` (one per remote host), `systemd`, `heartbeats`, `proc`, `paused`, `backlog`. */
  probes: Record<string, ProbeReport>;
  /** Human-readable errors (roster parse errors with file:line:column, probe failures). */
  errors: string[];
  /** The backlog section; absent when the backlog was not read. */
  backlog?: BacklogSection;
}
