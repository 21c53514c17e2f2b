/**
 * systemd probe: ONE `systemctl --user show <all units> --property=…` per snapshot,
 * and its parser. Units per upstream: `mosaic-agent@<name>.service`, `mosaic-tmux-holder.service`,
 * `mosaic-fleet-orchestrator.service`.
 */
import type { UnitInfo } from './types.js';
import { runProbe } from './exec.js';

/** Properties asked for, in this order. */
export const UNIT_PROPERTIES = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'MainPID'] as const;

/** The holder unit: keeps the fleet's tmux server alive (upstream). */
export const HOLDER_UNIT = 'mosaic-tmux-holder.service';
/** The fleet orchestrator unit, when the fleet runs one (upstream). */
export const ORCHESTRATOR_UNIT = 'mosaic-fleet-orchestrator.service';

/**
 * A string escaped as systemd escapes a unit name's instance (systemd.unit(5) "String
 * Escaping", `systemd-escape`): `/` becomes `-`; ASCII letters, digits, `:`, `_` and `.` (not
 * leading) stay; every other byte of its UTF-8 is `\xNN` (lower-case hex). `x@y+z-1` ⇒
 * `x\x40y\x2bz\x2d1`. Pure. ASCII text is escaped character by character (no UTF-8 buffer:
 * a roster's names are escaped for every agent of every snapshot).
 */
export function systemdEscape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return escapeBytes(text);
    if (c === 0x2f) out += '-';
    else if (isKeptByte(c) || (c === 0x2e && i > 0)) out += text[i];
    else out += `\\x${c < 16 ? '0' : ''}${c.toString(16)}`;
  }
  return out;
}

/** ASCII letters, digits, `:` and `_`: kept as they are by {@link systemdEscape}. */
function isKeptByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** {@link systemdEscape} over the text's UTF-8 bytes (text with non-ASCII characters). */
function escapeBytes(text: string): string {
  let out = '';
  Buffer.from(text, 'utf8').forEach((b, i) => {
    if (b === 0x2f) out += '-';
    else if (isKeptByte(b) || (b === 0x2e && i > 0)) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  });
  return out;
}

/** The inverse of {@link systemdEscape} (`systemd-escape --unescape`): `\xNN` ⇒ that byte, `-` ⇒ `/`. Pure. */
export function systemdUnescape(text: string): string {
  const bytes: number[] = [];
  let i = 0;
  while (i < text.length) {
    const hex = /^\\x([0-9a-fA-F]{2})/.exec(text.slice(i, i + 4))?.[1];
    if (hex !== undefined) {
      bytes.push(parseInt(hex, 16));
      i += 4;
      continue;
    }
    // One code point (a surrogate pair stays whole, so its UTF-8 is right).
    const ch = String.fromCodePoint(text.codePointAt(i) ?? 0xfffd);
    if (ch === '-') bytes.push(0x2f);
    else bytes.push(...Buffer.from(ch, 'utf8'));
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Agent unit names built so far (the same names are asked for at every snapshot), and their bound. */
const unitNames = new Map<string, string>();
const UNIT_NAMES_KEPT = 65_536;

/**
 * `mosaic-agent@<name>.service`: the unit of one agent (upstream's templated unit), the name
 * escaped with {@link systemdEscape} (`systemd-escape --template=mosaic-agent@.service <name>`):
 * roster names may hold `@`, `+` and `-`, which systemd refuses raw ("Invalid unit name") or
 * reads as `/`. Templates get the agent's name back with `%I` (unescaped instance).
 */
export function agentUnitName(agent: string): string {
  let unit = unitNames.get(agent);
  if (unit === undefined) {
    // A roster's names, bounded: a roster of more names than this only escapes some again.
    if (unitNames.size >= UNIT_NAMES_KEPT) unitNames.clear();
    unitNames.set(agent, (unit = `mosaic-agent@${systemdEscape(agent)}.service`));
  }
  return unit;
}

/** The agent name of an agent unit name (`mosaic-agent@x\x40y.service` ⇒ `x@y`), or null for another unit. Pure. */
export function agentOfUnit(unit: string): string | null {
  const instance = /^mosaic-agent@(.+)\.service$/.exec(unit)?.[1];
  return instance === undefined ? null : systemdUnescape(instance);
}

/**
 * Parses `systemctl show` output: blocks of `Key=Value` lines separated by blank lines, one
 * block per unit, in the order asked. Returns units keyed by `Id` (falls back to the asked name
 * by position when `Id` is missing). `MainPID=0` becomes null.
 */
export function parseSystemctlShow(stdout: string, asked: readonly string[] = []): Map<string, UnitInfo> {
  const units = new Map<string, UnitInfo>();
  const blocks = stdout
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter(Boolean);
  blocks.forEach((block, index) => {
    const props = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    const name = props.get('Id') || asked[index];
    if (!name) return;
    const pid = Number(props.get('MainPID') ?? '');
    units.set(name, {
      name,
      loadState: props.get('LoadState') ?? '',
      activeState: props.get('ActiveState') ?? '',
      subState: props.get('SubState') ?? '',
      unitFileState: props.get('UnitFileState') ?? '',
      mainPid: Number.isInteger(pid) && pid > 0 ? pid : null,
    });
  });
  return units;
}

/** Outcome of the systemd probe. */
export interface SystemdProbe {
  /** False when systemd could not be asked (no systemctl, no user bus, timeout). */
  available: boolean;
  ok: boolean;
  units: Map<string, UnitInfo>;
  durationMs: number;
  /** "systemd unavailable: no systemctl on PATH", "systemd unavailable: Failed to connect to bus: …", … */
  error: string | null;
}

/** How long a console waits before asking an unavailable systemd again, ms (30 s). */
export const SYSTEMD_RETRY_MS = 30_000;

/**
 * True when an unavailable systemd will stay so for a while: no `systemctl` on PATH, or no
 * user bus (a container, an ssh session without lingering). A timeout or an abort is not such
 * a state — those are asked again at the next snapshot.
 */
export function isLastingSystemdUnavailability(probe: SystemdProbe): boolean {
  if (probe.available || !probe.error) return false;
  return /no systemctl on PATH|connect to (user scope )?bus|\$DBUS_SESSION_BUS_ADDRESS/i.test(probe.error);
}

/**
 * Back-off state of the systemd probe, kept by the console's poller across snapshots (like the
 * roster cache). When systemd is lastingly unavailable ({@link isLastingSystemdUnavailability}),
 * the same unavailable probe (same reason) is reported without spawning `systemctl` until
 * `retryMs` has passed; then systemctl is asked again. A one-off snapshot (`--once`) has none
 * and always asks. Times are unix milliseconds.
 */
export class SystemdBackoff {
  private unavailable: { probe: SystemdProbe; retryAt: number } | null = null;

  constructor(private readonly retryMs: number = SYSTEMD_RETRY_MS) {}

  /** The probe to report at `nowMs` without asking systemd, or null when systemctl should run. */
  pending(nowMs: number): SystemdProbe | null {
    if (!this.unavailable || nowMs >= this.unavailable.retryAt) return null;
    const { probe } = this.unavailable;
    return { ...probe, units: new Map(), durationMs: 0 };
  }

  /** Records what systemctl answered at `nowMs`: a lasting unavailability starts a back-off, anything else ends it. */
  record(probe: SystemdProbe, nowMs: number): void {
    this.unavailable = isLastingSystemdUnavailability(probe) ? { probe, retryAt: nowMs + this.retryMs } : null;
  }
}

/**
 * Asks systemd about `units` with ONE `systemctl --user show` call. No systemctl or no bus
 * ⇒ `{ available: false, error }` (the unit columns degrade, nothing else). With a `backoff`
 * (the console's), a lasting unavailability is reported again without spawning until the
 * back-off's retry time (`nowMs`, unix ms, default now). Never throws.
 */
export async function probeSystemdUnits(
  units: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; backoff?: SystemdBackoff; nowMs?: number } = {},
): Promise<SystemdProbe> {
  if (units.length === 0) return { available: true, ok: true, units: new Map(), durationMs: 0, error: null };
  const nowMs = opts.nowMs ?? Date.now();
  const pending = opts.backoff?.pending(nowMs);
  if (pending) return pending;
  const probe = await askSystemd(units, opts);
  opts.backoff?.record(probe, nowMs);
  return probe;
}

/** The `systemctl --user show` arguments after the program name, for `units`. */
export function systemctlShowArgs(units: readonly string[]): string[] {
  return ['--user', 'show', ...units, `--property=${UNIT_PROPERTIES.join(',')}`, '--no-pager'];
}

/**
 * What one `systemctl --user show` run means, here or on a remote host: units when it answered
 * (or printed any unit block), else unavailable with the reason — `no systemctl on PATH` when
 * the program was not found, else stderr's first line, else `failure`. Pure.
 */
export function systemdProbeFromAnswer(
  answer: { stdout: string; stderr: string; ok: boolean; notFound: boolean; failure: string | null; durationMs: number },
  units: readonly string[],
): SystemdProbe {
  const parsed = parseSystemctlShow(answer.stdout, units);
  if (answer.ok || parsed.size > 0) return { available: true, ok: true, units: parsed, durationMs: answer.durationMs, error: null };
  const reason = answer.notFound ? 'no systemctl on PATH' : answer.stderr.trim().split('\n')[0] || answer.failure || 'systemctl failed';
  return { available: false, ok: false, units: parsed, durationMs: answer.durationMs, error: `systemd unavailable: ${reason}` };
}

async function askSystemd(units: readonly string[], opts: { timeoutMs?: number; signal?: AbortSignal }): Promise<SystemdProbe> {
  const result = await runProbe('systemctl', systemctlShowArgs(units), { timeoutMs: opts.timeoutMs ?? 2000, signal: opts.signal });
  return systemdProbeFromAnswer({ ...result, notFound: Boolean(result.error?.endsWith('not found')), failure: result.error }, units);
}
