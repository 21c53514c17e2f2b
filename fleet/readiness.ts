/**
 * Readiness (dead, unknown, stale, working, available — in that order of precedence) and flags (DRIFT, BOOT-ENABLE, EXPIRED-CLAIM). Pure: inputs in, decisions with evidence out.
 * Upstream: H1 (classifyReadiness: dead/unknown/stale/working), H1b (pane idle from
 * pane/window/session activity), H2 (`available`, never `stuck` from idleness; the idle
 * threshold stays `MOSAIC_HEARTBEAT_IDLE_THRESHOLD`, default 300 s).
 */
import { formatAge } from '../lib/age.js';
import type { AgentFlag, HeartbeatInfo, PaneInfo, ProcessInfo, Readiness, UnitInfo } from './types.js';

/** Default seconds after which a beat is stale (`MOSAIC_HEARTBEAT_STALE_THRESHOLD`). */
export const DEFAULT_STALE_THRESHOLD_SECONDS = 120;
/** Default pane idle seconds from which a stateless beat means available (`MOSAIC_HEARTBEAT_IDLE_THRESHOLD`). */
export const DEFAULT_IDLE_THRESHOLD_SECONDS = 300;

/** Readiness thresholds, seconds. */
export interface ReadinessThresholds {
  staleSeconds: number;
  idleSeconds: number;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * Thresholds from the environment: `MOSAIC_HEARTBEAT_STALE_THRESHOLD` (default 120 s) and
 * `MOSAIC_HEARTBEAT_IDLE_THRESHOLD` (default 300 s); values that are not positive integers
 * fall back to the defaults (upstream's helper semantics).
 */
export function readinessThresholds(env: NodeJS.ProcessEnv = process.env): ReadinessThresholds {
  return {
    staleSeconds: positiveInt(env.MOSAIC_HEARTBEAT_STALE_THRESHOLD, DEFAULT_STALE_THRESHOLD_SECONDS),
    idleSeconds: positiveInt(env.MOSAIC_HEARTBEAT_IDLE_THRESHOLD, DEFAULT_IDLE_THRESHOLD_SECONDS),
  };
}

/** Inputs of {@link classifyReadiness}. */
export interface ReadinessInput {
  /** `=<name>:0.0` of the agent, for evidence. */
  target: string;
  /** Socket label for evidence (`mosaic-fleet`, `default`). */
  socketLabel: string;
  pane: PaneInfo | null;
  heartbeat: HeartbeatInfo | null;
  /**
   * Why there is no usable beat although a file may exist, as `readHeartbeat` says it:
   * `<path> unreadable: <why>` (I/O error, not a regular file, or no v1 field — garbage).
   */
  heartbeatError?: string | null;
  /** The agent lives on another host that was not probed ⇒ unknown, never dead. */
  remoteHost?: string | null;
  /**
   * Why the agent's host could not be probed, as evidence (e.g. `ssh gpu2: Permission denied
   * (publickey).`) ⇒ unknown, never dead: a failed ssh says nothing about the agent.
   */
  probeError?: string | null;
}

/**
 * Decides one readiness per agent, in this order of precedence (an agent whose host was not or could not be
 * probed — `remoteHost`, `probeError` — is `unknown`): dead (no pane / pane dead), unknown (no
 * readable beat: no file, or `heartbeatError`, e.g. a file with no v1 field), stale (beat
 * older than `staleSeconds`), working (beat `busy`; or no state and
 * pane idle unknown/non-finite/below `idleSeconds`), available (beat `idle`; or no state and
 * pane idle ≥ `idleSeconds`). Never returns `stuck` (upstream H2). Total, never throws.
 */
export function classifyReadiness(
  input: ReadinessInput,
  thresholds: ReadinessThresholds,
): { readiness: Readiness; evidence: string[] } {
  const { pane, heartbeat } = input;
  if (input.probeError) return { readiness: 'unknown', evidence: [input.probeError] };
  if (input.remoteHost) {
    // A host that was not probed says nothing about its agents: claiming "dead" for a remote agent would be a lie.
    return { readiness: 'unknown', evidence: [`agent on host ${input.remoteHost}: not probed from this host`] };
  }
  if (!pane) {
    return { readiness: 'dead', evidence: [`no pane ${input.target} on socket ${input.socketLabel}`] };
  }
  if (pane.dead) {
    const status = pane.deadStatus === null ? '' : ` (exit status ${pane.deadStatus})`;
    return { readiness: 'dead', evidence: [`pane ${input.target} is dead${status}`] };
  }
  if (!heartbeat) {
    return {
      readiness: 'unknown',
      // A garbage file is no beat: its mtime must not pass for a fresh one.
      evidence: [input.heartbeatError ? `heartbeat ${input.heartbeatError}` : 'no heartbeat file', `pane alive, idle ${formatAge(pane.idleSeconds)}`],
    };
  }
  const evidence: string[] = [];
  const beat = `heartbeat ${formatAge(heartbeat.ageSeconds)} old`;
  const partial = heartbeat.partial ? ` (partial: ${heartbeat.problems.join('; ') || 'no v= line'})` : '';
  if (heartbeat.skewSeconds > 0) evidence.push(`clock skew: beat was ${heartbeat.skewSeconds}s in the future`);
  // A writer that promised an interval and missed two beats is worth a word before it goes stale.
  if (heartbeat.intervalSeconds && heartbeat.ageSeconds > 2 * heartbeat.intervalSeconds && heartbeat.ageSeconds <= thresholds.staleSeconds) {
    evidence.push(`beat late: promised every ${heartbeat.intervalSeconds}s`);
  }
  if (heartbeat.ageSeconds > thresholds.staleSeconds) {
    evidence.unshift(`${beat} > stale threshold ${thresholds.staleSeconds}s${partial}`);
    return { readiness: 'stale', evidence };
  }
  if (heartbeat.state === 'busy') {
    evidence.unshift(`${beat}, state=busy${partial}`);
    return { readiness: 'working', evidence };
  }
  if (heartbeat.state === 'idle') {
    evidence.unshift(`${beat}, state=idle${partial}`);
    return { readiness: 'available', evidence };
  }
  const idle = pane.idleSeconds;
  if (idle === null || !Number.isFinite(idle)) {
    evidence.unshift(`${beat}, no state${partial}`, 'pane idle unknown');
    return { readiness: 'working', evidence };
  }
  if (idle < thresholds.idleSeconds) {
    evidence.unshift(`${beat}, no state${partial}`, `pane idle ${formatAge(idle)} < ${thresholds.idleSeconds}s`);
    return { readiness: 'working', evidence };
  }
  evidence.unshift(`${beat}, no state${partial}`, `pane idle ${formatAge(idle)} ≥ ${thresholds.idleSeconds}s`);
  return { readiness: 'available', evidence };
}

/**
 * DRIFT check (the pane runs something else than the agent's runtime): does `expected` appear among the program names seen in the pane
 * (pane current command, and comm / argv[0] / argv[1] basenames of the pane pid and its
 * descendants)? Upstream's example: roster says `pi`, the pane runs `python dogfood-agent.py`.
 */
export function matchProcess(expected: string, paneCommand: string | null, seen: readonly string[]): ProcessInfo {
  const all = [...new Set([...(paneCommand ? [paneCommand] : []), ...seen])];
  const want = expected.trim();
  // comm is cut to 15 chars by the kernel: accept a 15-char prefix match too.
  const matches = want === '' || all.some((name) => name === want || (name.length === 15 && want.startsWith(name)));
  return { expected: want, seen: all, matches };
}

/** Inputs of {@link agentFlags}. */
export interface FlagInput {
  pane: PaneInfo | null;
  process: ProcessInfo | null;
  unit: UnitInfo | null;
  claimExpired: boolean;
}

/**
 * Per-agent flags with their evidence: DRIFT (live pane runs something other than expected),
 * BOOT-ENABLE (unit active but UnitFileState not `enabled`: it will not come back after a
 * reboot, upstream's canary finding), EXPIRED-CLAIM (holds a backlog claim past its TTL).
 */
export function agentFlags(input: FlagInput): { flags: AgentFlag[]; evidence: string[] } {
  const flags: AgentFlag[] = [];
  const evidence: string[] = [];
  if (input.pane && !input.pane.dead && input.process && !input.process.matches) {
    flags.push('DRIFT');
    evidence.push(`DRIFT: expected ${input.process.expected}, pane runs ${input.process.seen.join(', ') || 'nothing visible'}`);
  }
  if (input.unit && input.unit.activeState === 'active' && input.unit.unitFileState !== 'enabled' && input.unit.unitFileState !== 'enabled-runtime') {
    flags.push('BOOT-ENABLE');
    evidence.push(`BOOT-ENABLE: ${input.unit.name} active but ${input.unit.unitFileState || 'not enabled'}`);
  }
  if (input.claimExpired) {
    flags.push('EXPIRED-CLAIM');
    evidence.push('EXPIRED-CLAIM: backlog claim past its TTL');
  }
  return { flags, evidence };
}

/**
 * The two-agent floor (upstream decision of record 2026-06-22): at least one orchestrator and
 * one enhancer (by roster `class`) that are working or available. Returns counts and the reason
 * when broken.
 */
export function fleetFloor(agents: readonly { class: string | null; readiness: Readiness }[]): {
  ok: boolean;
  orchestrators: number;
  enhancers: number;
  reason: string | null;
} {
  const up = (r: Readiness) => r === 'working' || r === 'available';
  const orchestrators = agents.filter((a) => a.class === 'orchestrator' && up(a.readiness)).length;
  const enhancers = agents.filter((a) => a.class === 'enhancer' && up(a.readiness)).length;
  const missing: string[] = [];
  if (orchestrators < 1) missing.push('no orchestrator working or available');
  if (enhancers < 1) missing.push('no enhancer working or available');
  return { ok: missing.length === 0, orchestrators, enhancers, reason: missing.length ? `floor broken: ${missing.join(', ')}` : null };
}
