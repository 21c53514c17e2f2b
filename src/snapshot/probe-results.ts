/**
 * What the probes answered, in the shapes the pure join (`./join.ts`) takes: `./collect.ts`
 * fills a {@link ProbeResults} from this host's probes and files and from one {@link HostProbe}
 * per remote ssh target (the same shape for both). Types only.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { HeartbeatRead } from '../../fleet/heartbeat.js';
import type { LingerInfo } from '../../fleet/linger.js';
import type { ProcessTree } from '../../fleet/proc.js';
import type { FleetProfile } from '../../fleet/profile.js';
import type { ReadinessThresholds } from '../../fleet/readiness.js';
import type { RosterState } from '../../fleet/roster.js';
import type { SystemdProbe } from '../../fleet/systemd.js';
import type { TmuxSocketProbe } from '../../fleet/tmux.js';
import type { PausedFlag, ScreenReading } from '../../fleet/types.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { Readiness } from './types.js';

/** A probe's value (null when it threw), its wall time in ms, and the thrown message or null. */
export interface Timed<T> {
  value: T | null;
  durationMs: number;
  error: string | null;
}

/**
 * What one host answered, in the same shape for this host and for a remote one (there, one ssh
 * run answers all of it). Keys of the maps: `tmux` by socket (`''` for the default socket),
 * the others by agent name.
 */
export interface HostProbe {
  /** The ssh destination; null for this host. */
  target: string | null;
  /** The roster's host name shown for this host's unmanaged sessions; null for this host. */
  host: string | null;
  /** False when the host could not be asked at all (ssh failed); then `error` says why. */
  ok: boolean;
  /** Why the host could not be asked, without the `ssh <target>: ` prefix; null when ok. */
  error: string | null;
  /** Wall time of the host's probe (the ssh run), ms; 0 for this host. */
  durationMs: number;
  /** Per socket: panes, or why not. */
  tmux: Map<string, TmuxSocketProbe>;
  /** Per agent: its heartbeat read (absent: no file). */
  heartbeats: Map<string, HeartbeatRead>;
  /** Per agent: its parsed `<agents dir>/<name>.env` (absent: `{}`); read only for agents with a live pane. */
  agentEnvs: Map<string, Record<string, string>>;
  /** The host's process table, or null when not read (or unreadable). */
  processes: ProcessTree | null;
  /** The host's systemd answer about the agents' (and, here, the fleet's) units; null when not asked. */
  systemd: SystemdProbe | null;
  /**
   * Per agent: its pane's screen as the screen rules last read it (fleet/screen-probe.ts), aged
   * to now. Absent for a host whose screens are not read (remote hosts: their rows say so).
   */
  screens?: Map<string, ScreenReading>;
}

/** How the screen reads of this tick went (`probes.screens`). */
export interface ScreenProbeReport {
  ok: boolean;
  durationMs: number;
  /** The override's one-line error or a failed capture, else null. */
  error: string | null;
  /** Runtimes (roster names) that have screen rules, so rows without a reading can say why. */
  runtimesWithRules: ReadonlySet<string>;
}

/** Everything {@link joinSnapshot} needs, gathered by `collect`. */
export interface ProbeResults {
  /** Time of the snapshot, unix ms. */
  nowMs: number;
  /** This machine's hostname and Unix user (the tenant). */
  hostname: string;
  tenant: string;
  paths: MosaicPaths;
  thresholds: ReadinessThresholds;
  /** The roster as loaded (last good kept on a failed reload) and the load's wall time, ms. */
  roster: RosterState;
  rosterMs: number;
  /** The local sockets probed, in probe order (the roster's own first). */
  sockets: (string | null)[];
  paused: Timed<PausedFlag | null>;
  /** Wall time of reading the local heartbeats, ms. */
  heartbeatsMs: number;
  /** The local /proc read; null when skipped (no live pane anywhere here). */
  proc: Timed<ProcessTree> | null;
  /** This host's answers. */
  local: HostProbe;
  /** One per distinct ssh target, in roster order. */
  remotes: HostProbe[];
  /** The backlog section read; null when not asked. */
  backlog: Timed<BacklogSection> | null;
  /** Lingering of the tenant's user manager (fleet/linger.ts); null/absent when not checked. */
  linger?: LingerInfo | null;
  /**
   * The roster's fleet profile as collect.ts resolved it (profile files read there); absent ⇒
   * resolved here from the roster and upstream's built-in profiles alone.
   */
  profile?: { profile: FleetProfile; error: string | null };
  /**
   * When `agent` entered `readiness` (ISO), from the transition history; absent: every `since`
   * is null (unknown). Pure lookup (the history was read by the caller).
   */
  sinceOf?: (agent: string, readiness: Readiness) => string | null;
  /** The screen reads of this tick; absent when screens were not read at all. */
  screens?: ScreenProbeReport;
}
