/**
 * Push sources of the console's snapshots: what the fleet's sources tell us on their own, so a
 * tick needs no subprocess and a change is seen at once instead of at the next interval.
 *
 * tmux: one control-mode client per local socket (fleet/tmux-control.ts). Each tick's pane list
 * is asked through it (`list-panes -a` without a subprocess); its notifications (sessions,
 * windows, panes changed) call `onChange`, which the console turns into a tick now. When a
 * client is missing or dies the tick falls back to the `tmux list-panes` subprocess (poll, always
 * correct) and a new client is started in the background: the next tick uses it again.
 * `MOSAIC_TOP_NO_PUSH=1` turns push off: every tick polls.
 *
 * The run dir (beats, PAUSED) and the agents dir (env files) push through inotify instead:
 * fleet/run-dir-watch.ts; systemd units through the user bus: fleet/systemd-push.ts (the last
 * `systemctl show` kept until a unit's `PropertiesChanged`). Both are used by the console
 * (src/snapshot/live.ts) under the same switch.
 */
import { LAYOUT_NOTIFICATIONS, TmuxControlClient, tmuxQuote } from '../../fleet/tmux-control.js';
import { LIST_PANES_FORMAT, parseListPanes, probeTmuxSocket, type TmuxSocketProbe } from '../../fleet/tmux.js';

/** True unless `MOSAIC_TOP_NO_PUSH` is set to a true-ish value (`1`, `true`, `yes`, `on`). */
export function pushEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(1|true|yes|on)$/i.test(env.MOSAIC_TOP_NO_PUSH ?? '');
}

/** Options of {@link TmuxControlPool}. */
export interface TmuxControlPoolOptions {
  /** Environment of the tmux clients (the console's tmux env, computed once). */
  env?: NodeJS.ProcessEnv;
  /** Called when a socket's sessions, windows or panes changed, or when a client died (debounce it). */
  onChange?: () => void;
  /** Start failures in a row before waiting `retryMs` between attempts (default 3). */
  quickRetries?: number;
  /** Wait between start attempts after the quick retries, ms (default 30 000). */
  retryMs?: number;
}

/** Counters (tests and the bench). */
export interface TmuxControlStats {
  /** Pane lists answered by a control client. */
  viaControl: number;
  /** Pane lists that took a `tmux list-panes` subprocess. */
  viaSubprocess: number;
  /** Control clients started. */
  starts: number;
  /** Control clients that ended while in use. */
  exits: number;
}

interface Slot {
  client: TmuxControlClient | null;
  starting: Promise<void> | null;
  /** The client being started (closed with the pool: a client of a stopped server never answers). */
  startingClient: TmuxControlClient | null;
  failures: number;
  nextStartMs: number;
}

/** The tmux control clients of one console, one per local socket, started on first use. */
export class TmuxControlPool {
  readonly stats: TmuxControlStats = { viaControl: 0, viaSubprocess: 0, starts: 0, exits: 0 };
  private readonly slots = new Map<string, Slot>();
  private readonly opts: TmuxControlPoolOptions;
  private closed = false;

  constructor(opts: TmuxControlPoolOptions = {}) {
    this.opts = opts;
  }

  /** The live control client of `socket` (tests kill it), or null. */
  client(socket: string | null): TmuxControlClient | null {
    const c = this.slots.get(socket ?? '')?.client ?? null;
    return c?.alive ? c : null;
  }

  /**
   * The panes of `socket`, in the shape of fleet/tmux.ts `probeTmuxSocket`: through the socket's
   * control client when it is up, else one `list-panes` subprocess (and a client is started in
   * the background when that found a server). `holder`: the session to attach to when it exists.
   * Never throws.
   */
  async list(
    socket: string | null,
    opts: { timeoutMs?: number; signal?: AbortSignal; nowSeconds?: number; holder?: string | null } = {},
  ): Promise<TmuxSocketProbe> {
    const key = socket ?? '';
    const slot = this.slots.get(key) ?? { client: null, starting: null, startingClient: null, failures: 0, nextStartMs: 0 };
    this.slots.set(key, slot);
    if (slot.client?.alive) {
      const started = performance.now();
      const answer = await slot.client.command(`list-panes -a -F ${tmuxQuote(LIST_PANES_FORMAT)}`, opts.timeoutMs ?? 2000);
      if (answer.ok) {
        this.stats.viaControl++;
        const { panes } = parseListPanes(answer.lines.join('\n'), opts.nowSeconds ?? Date.now() / 1000);
        return { socket, ok: true, serverRunning: true, panes, durationMs: performance.now() - started, error: null };
      }
    }
    this.stats.viaSubprocess++;
    const probe = await probeTmuxSocket(socket, { timeoutMs: opts.timeoutMs, signal: opts.signal, nowSeconds: opts.nowSeconds, env: this.opts.env });
    if (probe.ok && probe.serverRunning && probe.panes.length) {
      const holder = opts.holder && probe.panes.some((p) => p.session === opts.holder) ? opts.holder : null;
      this.startClient(socket, slot, holder);
    }
    return probe;
  }

  /** Detaches every client. Idempotent. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) {
      slot.client?.close();
      slot.startingClient?.close();
    }
  }

  private startClient(socket: string | null, slot: Slot, holder: string | null): void {
    if (this.closed || slot.starting || slot.client?.alive || Date.now() < slot.nextStartMs) return;
    const client = new TmuxControlClient(socket, {
      session: holder,
      env: this.opts.env,
      onNotify: (name) => {
        if (LAYOUT_NOTIFICATIONS.has(name)) this.opts.onChange?.();
      },
      onExit: () => {
        if (slot.client !== client) return;
        slot.client = null;
        this.stats.exits++;
        // The next tick polls (and starts a new client): have it now, not an interval later.
        if (!this.closed) this.opts.onChange?.();
      },
    });
    this.stats.starts++;
    slot.startingClient = client;
    slot.starting = client
      .start()
      .then((ok) => {
        if (ok && !this.closed) {
          slot.client = client;
          slot.failures = 0;
          slot.nextStartMs = 0;
        } else {
          client.close();
          slot.failures++;
          if (slot.failures >= (this.opts.quickRetries ?? 3)) slot.nextStartMs = Date.now() + (this.opts.retryMs ?? 30_000);
        }
      })
      .finally(() => {
        slot.starting = null;
        slot.startingClient = null;
      });
  }
}
