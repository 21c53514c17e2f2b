/**
 * systemd probe (spec §3): ONE `systemctl --user show <all units> --property=…` per snapshot,
 * and its parser. Units per upstream: `mosaic-agent@<name>.service`, `mosaic-tmux-holder.service`,
 * `mosaic-fleet-orchestrator.service`.
 */
import type { UnitInfo } from '../src/snapshot-types.js';
import { runProbe } from './exec.js';

/** Properties asked for, in this order. */
export const UNIT_PROPERTIES = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'MainPID'] as const;

/** The holder unit: keeps the fleet's tmux server alive (upstream). */
export const HOLDER_UNIT = 'mosaic-tmux-holder.service';
/** The fleet orchestrator unit, when the fleet runs one (upstream). */
export const ORCHESTRATOR_UNIT = 'mosaic-fleet-orchestrator.service';

/** `mosaic-agent@<name>.service`: the unit of one agent (upstream's templated unit). */
export function agentUnitName(agent: string): string {
  return `mosaic-agent@${agent}.service`;
}

/**
 * Parses `systemctl show` output: blocks of `Key=Value` lines separated by blank lines, one
 * block per unit, in the order asked. Returns units keyed by `Id` (falls back to the asked name
 * by position when `Id` is missing). `MainPID=0` becomes null.
 */
export function parseSystemctlShow(stdout: string, asked: readonly string[] = []): Map<string, UnitInfo> {
  const units = new Map<string, UnitInfo>();
  const blocks = stdout.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
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

/**
 * Asks systemd about `units` with ONE `systemctl --user show` call. No systemctl or no bus
 * ⇒ `{ available: false, error }` (the unit columns degrade, nothing else). Never throws.
 */
export async function probeSystemdUnits(
  units: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SystemdProbe> {
  if (units.length === 0) return { available: true, ok: true, units: new Map(), durationMs: 0, error: null };
  const result = await runProbe(
    'systemctl',
    ['--user', 'show', ...units, `--property=${UNIT_PROPERTIES.join(',')}`, '--no-pager'],
    { timeoutMs: opts.timeoutMs ?? 2000, signal: opts.signal },
  );
  const parsed = parseSystemctlShow(result.stdout, units);
  if (result.ok || parsed.size > 0) {
    return { available: true, ok: true, units: parsed, durationMs: result.durationMs, error: null };
  }
  let reason: string;
  if (result.error?.endsWith('not found')) reason = 'no systemctl on PATH';
  else {
    const first = result.stderr.trim().split('\n')[0];
    reason = first || result.error || 'systemctl failed';
  }
  return { available: false, ok: false, units: parsed, durationMs: result.durationMs, error: `systemd unavailable: ${reason}` };
}
