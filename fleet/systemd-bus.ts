/**
 * A long-lived connection to the user's D-Bus session bus that tells which systemd units
 * changed, as they change: `Hello`, match rules for the user manager's signals, then
 * `org.freedesktop.systemd1.Manager.Subscribe` — the manager emits unit signals on the bus only
 * while some client is subscribed (systemd's `bus_foreach_bus`), so a plain monitor
 * (`busctl monitor`, `dbus-monitor`) sees nothing on a quiet session, and no command-line tool
 * can hold a subscription while it listens. Hence one socket in this process (no subprocess):
 * the wire pieces are in ./dbus-wire.ts, bodies are never parsed.
 *
 * What it reports: `PropertiesChanged` on a unit's object path (with what it says), and
 * `JobRemoved` (a start, stop or restart of a unit ended) ⇒ `onUnitChanged(unit, change)`; `UnitFilesChanged` or `Reloading`
 * on the manager ⇒ `onManagerChanged()` (unit file states may have moved, every unit is to be
 * asked again). The job matters: a unit loaded and started within one turn of the manager's
 * loop (a `Type=simple` unit never loaded before) announces itself with `UnitNew` alone, whose
 * state changes are folded into it. `UnitNew`/`UnitRemoved` are not reported: a `systemctl show`
 * of an unloaded unit loads and unloads it, and would report itself. When the
 * manager leaves the bus (`NameOwnerChanged` of `org.freedesktop.systemd1`), the bus goes away,
 * or a message is malformed or over the size bound, the connection ends and `onExit` is called
 * once: the caller polls and connects again.
 *
 * The bus is found as libdbus and sd-bus find it: the first `unix:path=`/`unix:abstract=` entry
 * of `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
 */
import net from 'node:net';
import path from 'node:path';
import {
  DBUS_AUTH_BEGIN,
  DBUS_ERROR,
  DBUS_METHOD_RETURN,
  DBUS_SIGNAL,
  dbusAuthLine,
  encodeDbusCall,
  readPropertiesChanged,
  readSimpleBody,
  splitDbusMessages,
  unitOfObjectPath,
  type DbusCall,
  type DbusMessage,
  type PropertiesChange,
} from './dbus-wire.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_INTERFACE = 'org.freedesktop.systemd1.Manager';

/** The match rules added before subscribing (D-Bus Specification, "Match Rules"). */
export const SYSTEMD_BUS_MATCHES: readonly string[] = [
  `type='signal',sender='${SYSTEMD}',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit'`,
  `type='signal',sender='${SYSTEMD}',interface='${MANAGER_INTERFACE}',member='JobRemoved'`,
  `type='signal',sender='${SYSTEMD}',interface='${MANAGER_INTERFACE}',member='UnitFilesChanged'`,
  `type='signal',sender='${SYSTEMD}',interface='${MANAGER_INTERFACE}',member='Reloading'`,
  `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${SYSTEMD}'`,
];

/**
 * The socket path of the user's session bus for `env`: `DBUS_SESSION_BUS_ADDRESS`'s first
 * `unix:path=` (percent-decoded) or `unix:abstract=` (returned with a leading NUL, as Node's
 * `net` takes an abstract name), else `$XDG_RUNTIME_DIR/bus`; null when neither is set. Pure.
 */
export function userBusPath(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const entry of (env.DBUS_SESSION_BUS_ADDRESS ?? '').split(';')) {
    if (!entry.startsWith('unix:')) continue;
    const keys = new Map(
      entry
        .slice(5)
        .split(',')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
    );
    const value = keys.get('path') ?? keys.get('abstract');
    if (value === undefined) continue;
    const decoded = decodeURIComponent(value);
    return keys.has('path') ? decoded : `\0${decoded}`;
  }
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'bus') : null;
}

/** Options of {@link SystemdBusMonitor}. */
export interface SystemdBusMonitorOptions {
  /** The bus socket (see {@link userBusPath}). */
  socketPath: string;
  /**
   * A unit changed (`mosaic-agent@a1.service`): `change` is what its `PropertiesChanged` said,
   * null for an ended job (a change for sure).
   */
  onUnitChanged?: (unit: string, change: PropertiesChange | null) => void;
  /** Unit files changed or the manager reloaded: every unit is to be asked again. */
  onManagerChanged?: () => void;
  /** Called once when the connection is gone (ended, refused, malformed, closed). */
  onExit?: (reason: string) => void;
  /** The uid to authenticate as (default this process's). */
  uid?: number;
}

interface PendingCall {
  resolve: (answer: { ok: boolean; error: string | null }) => void;
}

/** One subscribed connection; not started by the constructor: call {@link start}. */
export class SystemdBusMonitor {
  private readonly opts: SystemdBusMonitorOptions;
  private socket: net.Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private authed = false;
  private authLine = '';
  private onAuth: ((ok: boolean, why: string) => void) | null = null;
  private serial = 0;
  private readonly pending = new Map<number, PendingCall>();
  private ready = false;
  private exited = false;
  /** Unit and manager signals received so far (tests, the bench). */
  signals = 0;

  constructor(opts: SystemdBusMonitorOptions) {
    this.opts = opts;
  }

  /** True while connected and subscribed. */
  get alive(): boolean {
    return this.ready && !this.exited;
  }

  /**
   * Connects, authenticates, adds the matches and subscribes. Resolves true once subscribed;
   * false when the bus is absent or refused, the manager is not on it, or nothing answered
   * within `timeoutMs` (the reason goes to `onExit`, the connection is closed).
   */
  async start(timeoutMs = 2000): Promise<boolean> {
    if (this.socket) return this.alive;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    const failure = await Promise.race([this.handshake(), deadline]);
    clearTimeout(timer);
    if (failure !== null) {
      this.finish(`systemd bus at ${this.opts.socketPath}: ${failure}`);
      return false;
    }
    this.ready = true;
    return !this.exited;
  }

  /** Closes the connection. Idempotent; `onExit` is called (reason `closed`) if it was open. */
  close(): void {
    this.finish('closed');
  }

  /** Resolves null once subscribed, else the reason. */
  private async handshake(): Promise<string | null> {
    const socket = net.createConnection({ path: this.opts.socketPath });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.finish(`${error.code ?? 'error'}: ${error.message}`));
    socket.on('close', () => this.finish('connection closed'));
    const authed = await new Promise<string | null>((resolve) => {
      this.onAuth = (ok, why) => resolve(ok ? null : why);
      socket.write(dbusAuthLine(this.opts.uid ?? process.getuid?.() ?? 0));
    });
    if (authed !== null) return authed;
    socket.write(DBUS_AUTH_BEGIN);
    const bus = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
    const hello = await this.call({ ...bus, member: 'Hello' });
    if (!hello.ok) return `Hello: ${hello.error}`;
    for (const rule of SYSTEMD_BUS_MATCHES) {
      const added = await this.call({ ...bus, member: 'AddMatch', args: [rule] });
      if (!added.ok) return `AddMatch: ${added.error}`;
    }
    const subscribed = await this.call({ destination: SYSTEMD, path: '/org/freedesktop/systemd1', interface: MANAGER_INTERFACE, member: 'Subscribe' });
    return subscribed.ok ? null : `Subscribe: ${subscribed.error}`;
  }

  private call(call: Omit<DbusCall, 'serial'>): Promise<{ ok: boolean; error: string | null }> {
    if (this.exited || !this.socket) return Promise.resolve({ ok: false, error: 'connection gone' });
    const serial = ++this.serial;
    return new Promise((resolve) => {
      this.pending.set(serial, { resolve });
      this.socket!.write(encodeDbusCall({ ...call, serial }));
    });
  }

  private finish(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    this.onAuth?.(false, reason);
    this.onAuth = null;
    for (const p of this.pending.values()) p.resolve({ ok: false, error: reason });
    this.pending.clear();
    this.socket?.destroy();
    this.opts.onExit?.(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.exited) return;
    if (!this.authed) {
      // The auth answer is one line (`OK <guid>` or `REJECTED …`); nothing follows it until BEGIN.
      this.authLine += chunk.toString('latin1');
      const nl = this.authLine.indexOf('\r\n');
      if (nl < 0) {
        if (this.authLine.length > 512) this.finish('auth answer over 512 bytes');
        return;
      }
      const line = this.authLine.slice(0, nl);
      this.authed = line.startsWith('OK ');
      this.onAuth?.(this.authed, `auth refused: ${line.slice(0, 120)}`);
      this.onAuth = null;
      return;
    }
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    let messages: DbusMessage[];
    try {
      const split = splitDbusMessages(this.buffered);
      messages = split.messages;
      // A kept tail is copied: the chunk it points into is not held for the life of the connection.
      this.buffered = split.rest.length && split.messages.length ? Buffer.from(split.rest) : split.rest;
    } catch (error) {
      this.finish(`bad message: ${(error as Error).message}`);
      return;
    }
    for (const m of messages) this.onMessage(m);
  }

  private onMessage(message: DbusMessage): void {
    const h = message.header;
    if ((h.type === DBUS_METHOD_RETURN || h.type === DBUS_ERROR) && h.replySerial !== null) {
      const p = this.pending.get(h.replySerial);
      this.pending.delete(h.replySerial);
      p?.resolve(h.type === DBUS_METHOD_RETURN ? { ok: true, error: null } : { ok: false, error: h.errorName ?? 'error' });
      return;
    }
    if (h.type !== DBUS_SIGNAL || !this.ready) return;
    if (h.member === 'NameOwnerChanged') {
      this.finish(`${SYSTEMD} left the bus`);
      return;
    }
    if (h.member === 'PropertiesChanged') {
      const unit = unitOfObjectPath(h.path ?? '');
      if (unit === null) return;
      let change: PropertiesChange | null;
      try {
        change = readPropertiesChanged(message);
      } catch (error) {
        this.finish(`bad PropertiesChanged of ${unit}: ${(error as Error).message}`);
        return;
      }
      this.signals++;
      if (change) this.opts.onUnitChanged?.(unit, change);
    } else if (h.interface === MANAGER_INTERFACE && h.member === 'JobRemoved') {
      const unit = readSimpleBody(message)?.[2];
      if (typeof unit !== 'string') return;
      this.signals++;
      this.opts.onUnitChanged?.(unit, null);
    } else if (h.interface === MANAGER_INTERFACE) {
      this.signals++;
      this.opts.onManagerChanged?.();
    }
  }
}
