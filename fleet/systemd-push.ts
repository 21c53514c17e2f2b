/**
 * The console's systemd probe with push: the last `systemctl --user show` answer is kept, and a
 * tick asks systemctl again only when the bus said something changed. While the bus monitor
 * (./systemd-bus.ts) is subscribed, a unit's `PropertiesChanged` that differs from the kept
 * answer (one heard while systemctl runs: from the answer it gets), or its ended job, marks it
 * dirty and calls
 * `onChange` (the console runs a tick at once); an idle tick starts no `systemctl`. One
 * `systemctl show` of every unit (one subprocess, as without push) runs when a unit asked for is
 * dirty, when the set of units changed, at the first tick after the monitor subscribed, and at
 * least every `fullEveryMs` (30 s) as the safety net. When the bus is absent, the monitor cannot
 * start or it ends, every tick polls (the plain probe, always correct) and a new monitor is
 * started in the background: a few quick attempts, then one every `retryMs` — as the tmux
 * control clients do (src/snapshot/push-sources.ts).
 */
import type { PropertiesChange } from './dbus-wire.js';
import { probeSystemdUnits, type SystemdBackoff, type SystemdProbe } from './systemd.js';
import { SystemdBusMonitor, userBusPath } from './systemd-bus.js';
import type { UnitInfo } from './types.js';

/** The unit properties the probe reports, by their D-Bus names (interfaces `…systemd1.Unit` and `…systemd1.Service`). */
const WATCHED: Record<string, (u: UnitInfo) => string | number> = {
  Id: (u) => u.name,
  LoadState: (u) => u.loadState,
  ActiveState: (u) => u.activeState,
  SubState: (u) => u.subState,
  UnitFileState: (u) => u.unitFileState,
  MainPID: (u) => u.mainPid ?? 0,
};

/**
 * True when `change` tells nothing new about `kept` (the unit as last answered): none of the
 * watched properties is invalidated, and each one it carries has the kept value. A
 * `systemctl show` of an unloaded unit loads it and its dependencies, whose dependency lists
 * then change (and their signals carry every property): those are not changes. Pure.
 */
export function changeIsKnown(change: PropertiesChange, kept: UnitInfo | undefined): boolean {
  if (!kept) return false;
  for (const [name, valueOf] of Object.entries(WATCHED)) {
    if (change.invalidated.includes(name)) return false;
    if (change.changed.has(name) && change.changed.get(name) !== valueOf(kept)) return false;
  }
  return true;
}

/** Options of {@link SystemdPush}. */
export interface SystemdPushOptions {
  /** Environment the bus address is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called when a unit asked for (or the manager's unit files) changed, and when the monitor ended. */
  onChange?: () => void;
  /** Longest time a kept answer is used, ms (default 30 000). */
  fullEveryMs?: number;
  /** Monitor start failures in a row before waiting `retryMs` between attempts (default 3). */
  quickRetries?: number;
  /** Wait between monitor start attempts after the quick retries, ms (default 30 000). */
  retryMs?: number;
}

/** Counters (tests and the bench). */
export interface SystemdPushStats {
  /** Probes answered from the kept answer (no subprocess). */
  viaBus: number;
  /** Probes that asked systemctl (when a back-off holds, without spawning). */
  viaSubprocess: number;
  /** Monitors started (attempts). */
  starts: number;
  /** Monitors that ended after subscribing. */
  exits: number;
  /** Unit and manager signals received. */
  signals: number;
}

interface Kept {
  probe: SystemdProbe;
  /** The units asked, joined by NUL. */
  key: string;
  atMs: number;
  /** {@link SystemdPush.generation} when the probe started. */
  generation: number;
}

/** The systemd probe of one console; {@link probe} has the signature of fleet/systemd.ts `probeSystemdUnits`. */
export class SystemdPush {
  readonly stats: SystemdPushStats = { viaBus: 0, viaSubprocess: 0, starts: 0, exits: 0, signals: 0 };
  private readonly opts: SystemdPushOptions;
  private monitor: SystemdBusMonitor | null = null;
  private pending: SystemdBusMonitor | null = null;
  private failures = 0;
  private nextStartMs = 0;
  private kept: Kept | null = null;
  /** Bumped by every change that outdates the kept answer. */
  private generation = 0;
  /** Units asked at the last probe (a signal for another unit is not a change of ours). */
  private asked = new Set<string>();
  private askedKey = '';
  /** The units array of the last probe and its key. */
  private lastUnits: readonly string[] | null = null;
  private lastKey = '';
  /** systemctl runs in flight. */
  private inFlight = 0;
  /** Unit signals heard while systemctl ran: judged against its answer once it is in. */
  private heard: [string, PropertiesChange | null][] = [];
  private closed = false;

  constructor(opts: SystemdPushOptions = {}) {
    this.opts = opts;
  }

  /** The subscribed monitor (tests end it), or null. */
  get liveMonitor(): SystemdBusMonitor | null {
    return this.monitor?.alive ? this.monitor : null;
  }

  /** True while a monitor is being started. */
  get starting(): boolean {
    return this.pending !== null;
  }

  /**
   * The units' states: the kept answer while the monitor is subscribed and nothing it reported
   * outdated it, else one `systemctl --user show` (fleet/systemd.ts, with its back-off). Starts
   * the monitor in the background once systemd answered. Never throws.
   */
  async probe(
    units: readonly string[],
    opts: { timeoutMs?: number; signal?: AbortSignal; backoff?: SystemdBackoff; nowMs?: number } = {},
  ): Promise<SystemdProbe> {
    const nowMs = opts.nowMs ?? Date.now();
    // The same array (the collector keeps one per roster) is the same units: not joined again.
    const key = units === this.lastUnits ? this.lastKey : units.join('\0');
    this.lastUnits = units;
    this.lastKey = key;
    const kept = this.kept;
    if (
      this.monitor?.alive &&
      kept &&
      kept.key === key &&
      kept.generation === this.generation &&
      nowMs - kept.atMs < (this.opts.fullEveryMs ?? 30_000) &&
      nowMs >= kept.atMs
    ) {
      this.stats.viaBus++;
      return { ...kept.probe, durationMs: 0 };
    }
    if (key !== this.askedKey) this.asked = new Set(units);
    this.askedKey = key;
    const generation = this.generation;
    this.stats.viaSubprocess++;
    this.inFlight++;
    const probe = await probeSystemdUnits(units, { ...opts, nowMs }).finally(() => this.inFlight--);
    this.kept = probe.available && probe.ok && !opts.signal?.aborted ? { probe, key, atMs: nowMs, generation } : null;
    // A signal heard meanwhile may be newer than the answer (a restart read half-way): a change
    // unless the answer already says what it says.
    const heard = this.inFlight === 0 ? this.heard.splice(0) : [];
    if (this.kept && heard.some(([unit, change]) => !change || !changeIsKnown(change, probe.units.get(unit)))) this.outdate();
    if (probe.available) this.startMonitor();
    return probe;
  }

  /** Closes the monitor. Idempotent. */
  close(): void {
    this.closed = true;
    this.monitor?.close();
    this.pending?.close();
  }

  private outdate(): void {
    this.generation++;
    this.opts.onChange?.();
  }

  private startMonitor(): void {
    if (this.closed || this.pending || this.monitor?.alive || Date.now() < this.nextStartMs) return;
    const socketPath = userBusPath(this.opts.env ?? process.env);
    if (socketPath === null) return;
    const monitor = new SystemdBusMonitor({
      socketPath,
      onUnitChanged: (unit, change) => {
        this.stats.signals++;
        if (!this.asked.has(unit)) return;
        if (this.inFlight > 0) this.heard.push([unit, change]);
        else if (!change || !changeIsKnown(change, this.kept?.probe.units.get(unit))) this.outdate();
      },
      onManagerChanged: () => {
        this.stats.signals++;
        this.outdate();
      },
      onExit: () => {
        if (this.monitor !== monitor) return;
        this.monitor = null;
        this.stats.exits++;
        // The next tick polls (and starts a new monitor): have it now, not an interval later.
        if (!this.closed) this.outdate();
      },
    });
    this.stats.starts++;
    this.pending = monitor;
    void monitor.start().then((ok) => {
      this.pending = null;
      if (ok && !this.closed) {
        this.monitor = monitor;
        this.failures = 0;
        this.nextStartMs = 0;
        // Changes between the last answer and the subscription were not seen: ask once more.
        this.generation++;
        return;
      }
      monitor.close();
      if (++this.failures >= (this.opts.quickRetries ?? 3)) this.nextStartMs = Date.now() + (this.opts.retryMs ?? 30_000);
    });
  }
}
