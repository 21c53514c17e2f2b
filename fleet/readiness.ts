/**
 * Readiness and flags. Pure: inputs in, decisions with evidence out.
 * Runtime evidence (a beat's `state=waiting|stuck`, the pane's screen read by the screen
 * rules of fleet/screen.ts) adds `waiting` and `stuck`.
 * Upstream: H1 (classifyReadiness: dead/unknown/stale/working), H1b (pane idle from
 * pane/window/session activity), H2 (`available`, never `stuck` from idleness; the idle
 * threshold stays `MOSAIC_HEARTBEAT_IDLE_THRESHOLD`, default 300 s).
 */
import { formatAge } from '../lib/age.js';
import { agentOfUnit } from './systemd.js';
import type { AgentFlag, HeartbeatInfo, PaneInfo, ProcessInfo, Readiness, ScreenReading, UnitInfo } from './types.js';

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
  /** The pane's screen as the screen rules last read it (fleet/screen.ts); null/absent when not read. */
  screen?: ScreenReading | null;
  /**
   * The runtime's rules say an idle-looking screen may be a turn still streaming (Codex shows
   * its idle composer while text streams): such an idle screen never overrides a `busy` beat,
   * and without a beat it means working while the pane's output moved in the last
   * {@link STREAMING_ACTIVITY_SECONDS}.
   */
  screenIdleMayStream?: boolean;
}

/** Seconds of pane output under which an idle-looking screen that may stream counts as working. */
export const STREAMING_ACTIVITY_SECONDS = 5;

/** Result of {@link classifyReadiness}: the readiness, the evidence (deciding signal first), LIMITED/AUTH when stuck. */
export interface ReadinessDecision {
  readiness: Readiness;
  evidence: string[];
  /** `LIMITED` or `AUTH` for a stuck agent when the evidence says which; absent otherwise. */
  flags?: AgentFlag[];
}

/** LIMITED/AUTH from a stuck reason's words (`rate limited (429)`, `credentials rejected`, `401`). Pure. */
export function stuckFlags(reason: string | null | undefined): AgentFlag[] {
  if (!reason) return [];
  if (/\b429\b|rate.?limit|usage.?limit|limit reached|too many requests|quota|overloaded/i.test(reason)) return ['LIMITED'];
  if (/\b40[13]\b|auth|credential|api key|unauthori[sz]ed|forbidden|login/i.test(reason)) return ['AUTH'];
  return [];
}

/** `claude 2.1.332`: the runtime (first word of the rules label) and its version read from its process; '' when unknown. */
function runtimeWithVersion(screen: ScreenReading): string {
  return screen.version ? `${runtimeOfRules(screen.rules)} ${screen.version}` : '';
}

/** The runtime a rules label names (`claude@2.1 [x]` ⇒ `claude`): its text up to the first `@` or space. */
function runtimeOfRules(label: string): string {
  return label.split(/[@ ]/, 1)[0] ?? '';
}

/**
 * The evidence line of a screen reading, with the rules that read it and the runtime's version
 * when known: `screen: permission prompt Bash echo hi > proto.txt [claude@>=2.1.198; claude 2.1.332]`;
 * a runtime's own dialog `screen: dialog: permission mode (Yes, set auto mode …)`. Pure.
 */
export function describeScreen(screen: ScreenReading): string {
  const read = screen.ageSeconds > 0 ? ` (read ${formatAge(screen.ageSeconds)} ago)` : '';
  const version = runtimeWithVersion(screen);
  const rules = ` [${screen.rules}${version ? `; ${version}` : ''}]`;
  switch (screen.state) {
    case 'waiting': {
      const p = screen.prompt;
      if (!p) return `screen: dialog open${read}${rules}`;
      if (p.kind === 'dialog') return `screen: dialog: ${p.tool ?? 'unnamed'}${p.detail ? ` (${p.detail})` : ''}${read}${rules}`;
      const what = [p.tool, p.detail].filter(Boolean).join(' ');
      return `screen: ${p.kind === 'permission' ? 'permission prompt' : 'question'}${what ? ` ${what}` : ''}${read}${rules}`;
    }
    case 'error': {
      const e = screen.error;
      const kind = e?.kind === 'rate_limit' ? 'rate limited' : e?.kind === 'auth' ? 'credentials rejected' : 'API error';
      return `screen: ${kind}${e ? `: ${e.text}` : ''}${read}${rules}`;
    }
    case 'busy':
      return `screen: busy marker${read}${rules}`;
    case 'queued':
      return `screen: busy, message queued${read}${rules}`;
    case 'idle':
      return `screen: idle at the input line${screen.inputText ? ' (text in the input box)' : ''}${read}${rules}`;
    default:
      return `screen: not recognised${screen.unrecognised ? ` (last line: ${screen.unrecognised})` : ''}${read}${rules}`;
  }
}

/**
 * Decides one readiness per agent, in this order (an agent whose host was not or could not
 * be probed — `remoteHost`, `probeError` — is `unknown`):
 * 1. dead — no pane / pane dead;
 * 2. waiting — the screen shows a permission prompt or question; or the beat says
 *    `state=waiting` (held however old: a waiting runtime writes no beats) unless a screen
 *    read after it shows something else, or, with no screen, the pane's output moved after a
 *    beat older than the stale threshold;
 * 3. stuck — the screen's transcript ends on an API error / limit, or the beat says
 *    `state=stuck` (held however old), unless a turn started since (a fresher busy beat or busy
 *    screen); flags LIMITED / AUTH from the error kind or the reason's words;
 * 4. unknown — no readable beat and the screen says nothing;
 * 5. stale — beat older than `staleSeconds`, no fresher screen;
 * 6. working — beat `busy` or a busy marker on screen; or no state and pane idle
 *    unknown/non-finite/below `idleSeconds`;
 * 7. available — beat `idle` or the idle input line on screen; or no state and pane idle ≥
 *    `idleSeconds`.
 * When the beat and the screen disagree the fresher wins (the screen's state counts from the
 * capture that first saw it, `sinceSeconds`); the first evidence line names what decided,
 * the other follows. Never derives `stuck` from idleness (upstream H2). Total, never throws.
 */
export function classifyReadiness(input: ReadinessInput, thresholds: ReadinessThresholds): ReadinessDecision {
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
  const screen = input.screen ?? null;
  const screenLine = screen ? describeScreen(screen) : null;
  const known = !!screen && screen.state !== 'unknown';
  /** The screen's current state began no earlier than the beat: it is the fresher evidence. */
  const screenFresher = !!screen && (!heartbeat || screen.sinceSeconds <= heartbeat.ageSeconds);
  const beatLine = heartbeat ? describeBeat(heartbeat) : null;
  const withOther = (first: string, other: string | null, rest: string[] = []) => [first, ...(other ? [other] : []), ...rest];

  // 2. waiting
  if (screen?.state === 'waiting')
    return { readiness: 'waiting', evidence: withOther(screenLine!, beatLine ? `${beatLine}${screenFresher ? ' (older)' : ''}` : heartbeatMissing(input)) };
  if (heartbeat?.state === 'waiting') {
    const contradicted = known && screenFresher;
    const movedSince = !screen && heartbeat.ageSeconds > thresholds.staleSeconds && pane.idleSeconds !== null && pane.idleSeconds < heartbeat.ageSeconds;
    if (!contradicted && !movedSince) return { readiness: 'waiting', evidence: withOther(beatLine!, screenLine) };
  }
  // 3. stuck (cleared by the next turn that starts)
  if (screen?.state === 'error') {
    const turnSince = heartbeat?.state === 'busy' && heartbeat.ageSeconds < screen.sinceSeconds;
    if (!turnSince) {
      const kind = screen.error?.kind;
      const flags: AgentFlag[] = kind === 'rate_limit' ? ['LIMITED'] : kind === 'auth' ? ['AUTH'] : [];
      return { readiness: 'stuck', evidence: withOther(screenLine!, beatLine ?? heartbeatMissing(input)), ...(flags.length ? { flags } : {}) };
    }
  }
  if (heartbeat?.state === 'stuck') {
    const turnSince = (screen?.state === 'busy' || screen?.state === 'queued') && screenFresher;
    if (!turnSince) {
      const flags = stuckFlags(heartbeat.reason);
      return { readiness: 'stuck', evidence: withOther(beatLine!, screenLine), ...(flags.length ? { flags } : {}) };
    }
  }
  // The screen decides working/available when it is known and fresher than the beat (a beat
  // written by hooks only on events ages while the runtime sits idle; the screen does not).
  if (known && screenFresher && (screen.state === 'idle' || screen.state === 'busy' || screen.state === 'queued')) {
    if (screen.state !== 'idle') return { readiness: 'working', evidence: withOther(screenLine!, beatLine ? `${beatLine} (older)` : heartbeatMissing(input)) };
    const streaming = input.screenIdleMayStream && pane.idleSeconds !== null && pane.idleSeconds < STREAMING_ACTIVITY_SECONDS;
    const busyBeat = input.screenIdleMayStream && heartbeat?.state === 'busy' && heartbeat.ageSeconds <= thresholds.staleSeconds;
    if (streaming && !busyBeat) {
      return {
        readiness: 'working',
        evidence: withOther(
          `${screenLine!}, but pane output ${formatAge(pane.idleSeconds)} ago (this runtime streams with an idle-looking screen)`,
          beatLine ? `${beatLine} (older)` : heartbeatMissing(input),
        ),
      };
    }
    if (!busyBeat) return { readiness: 'available', evidence: withOther(screenLine!, beatLine ? `${beatLine} (older)` : heartbeatMissing(input)) };
  }
  const decided = classifyFromBeat(input, pane, heartbeat, thresholds);
  // An unrecognised screen is worth a word only when nothing else tells (no beat).
  if (screenLine && (screen!.state !== 'unknown' || !heartbeat)) decided.evidence.push(screenLine);
  return decided;
}

/** `heartbeat 12s old, state=waiting (permission: Bash)` with the partial note. */
function describeBeat(heartbeat: HeartbeatInfo): string {
  const partial = heartbeat.partial ? ` (partial: ${heartbeat.problems.join('; ') || 'no v= line'})` : '';
  const state = heartbeat.state ? `state=${heartbeat.state}${heartbeat.reason ? ` (${heartbeat.reason})` : ''}` : 'no state';
  return `heartbeat ${formatAge(heartbeat.ageSeconds)} old, ${state}${partial}`;
}

/** Evidence for a missing/unreadable beat beside a screen that decided. */
function heartbeatMissing(input: ReadinessInput): string {
  return input.heartbeatError ? `heartbeat ${input.heartbeatError}` : 'no heartbeat file';
}

/** Steps 4–7 of the readiness order from the beat and pane activity alone (the pre-screen classifier, unchanged). */
function classifyFromBeat(input: ReadinessInput, pane: PaneInfo, heartbeat: HeartbeatInfo | null, thresholds: ReadinessThresholds): ReadinessDecision {
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
  const reason = heartbeat.reason ? ` (${heartbeat.reason})` : '';
  if (heartbeat.skewSeconds > 0) evidence.push(`clock skew: beat was ${heartbeat.skewSeconds}s in the future`);
  // A writer that promised an interval and missed two beats is worth a word before it goes stale.
  if (heartbeat.intervalSeconds && heartbeat.ageSeconds > 2 * heartbeat.intervalSeconds && heartbeat.ageSeconds <= thresholds.staleSeconds) {
    evidence.push(`beat late: promised every ${heartbeat.intervalSeconds}s`);
  }
  if (heartbeat.ageSeconds > thresholds.staleSeconds) {
    evidence.unshift(
      `${beat} > stale threshold ${thresholds.staleSeconds}s${heartbeat.state === 'waiting' || heartbeat.state === 'stuck' ? `, state=${heartbeat.state}${reason}` : ''}${partial}`,
    );
    return { readiness: 'stale', evidence };
  }
  if (heartbeat.state === 'busy') {
    evidence.unshift(`${beat}, state=busy${reason}${partial}`);
    return { readiness: 'working', evidence };
  }
  if (heartbeat.state === 'idle') {
    evidence.unshift(`${beat}, state=idle${reason}${partial}`);
    return { readiness: 'available', evidence };
  }
  // A waiting/stuck beat that the screen contradicted falls through here: pane idle decides.
  const said = heartbeat.state ? `state=${heartbeat.state}${reason}, overtaken` : 'no state';
  const idle = pane.idleSeconds;
  if (idle === null || !Number.isFinite(idle)) {
    evidence.unshift(`${beat}, ${said}${partial}`, 'pane idle unknown');
    return { readiness: 'working', evidence };
  }
  if (idle < thresholds.idleSeconds) {
    evidence.unshift(`${beat}, ${said}${partial}`, `pane idle ${formatAge(idle)} < ${thresholds.idleSeconds}s`);
    return { readiness: 'working', evidence };
  }
  evidence.unshift(`${beat}, ${said}${partial}`, `pane idle ${formatAge(idle)} ≥ ${thresholds.idleSeconds}s`);
  return { readiness: 'available', evidence };
}

/**
 * DRIFT check (the pane runs something else than the agent's runtime): does `expected` appear among the program names seen in the pane
 * (pane current command, and comm / argv[0] / argv[1] basenames of the pane pid and its
 * descendants)? Upstream's example: roster says `pi`, the pane runs `python dogfood-agent.py`.
 */
export function matchProcess(expected: string, paneCommand: string | null, seen: readonly string[]): ProcessInfo {
  const names = new Set<string>();
  if (paneCommand) names.add(paneCommand);
  for (const name of seen) names.add(name);
  const all = [...names];
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
  /**
   * True when the pane probe succeeded and found the agent's pane dead or missing (readiness
   * `dead`); false when the pane lives or could not be probed (a failed probe is not a dead pane).
   */
  paneGone?: boolean;
  /** The pane's screen as the rules last read it (RULES-STALE), null/absent when not read. */
  screen?: ScreenReading | null;
}

/** Consecutive unknown reads of a pane that runs its runtime after which RULES-STALE is raised. */
export const RULES_STALE_UNKNOWN_READS = 3;

/**
 * RULES-STALE evidence, or null: the runtime's version (read from its process) is newer than the
 * newest the matching rules were proven on, or outside every rules range (`screen.stale`); or the
 * pane's process IS the runtime (no DRIFT) and the rules read its screen as `unknown` for
 * {@link RULES_STALE_UNKNOWN_READS} consecutive captures. Names the version and what was not
 * recognised (the screen's last line). Pure.
 */
export function rulesStale(screen: ScreenReading | null | undefined, process: ProcessInfo | null): string | null {
  if (!screen) return null;
  const what = screen.state === 'unknown' && screen.unrecognised ? `; not recognised: ${screen.unrecognised}` : '';
  if (screen.stale) return `RULES-STALE: ${screen.stale}${what}`;
  if (screen.state === 'unknown' && (screen.unknownReads ?? 0) >= RULES_STALE_UNKNOWN_READS && process?.matches) {
    const who = runtimeWithVersion(screen) || `${runtimeOfRules(screen.rules)} (version unknown)`;
    return `RULES-STALE: ${who}: the rules ${screen.rules} read its screen as unknown ${screen.unknownReads} times in a row${what}`;
  }
  return null;
}

/**
 * Per-agent flags with their evidence: DRIFT (live pane runs something other than expected),
 * BOOT-ENABLE (unit active but UnitFileState not `enabled`: it will not come back after a
 * reboot, upstream's canary finding), NEEDS-RESTART (unit active or activating while the pane
 * is dead or missing: upstream's agent units are oneshot `active (exited)`, so systemd will not
 * bring the agent back — only a restart will), EXPIRED-CLAIM (holds a backlog claim past its TTL),
 * RULES-STALE ({@link rulesStale}).
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
  if (input.paneGone && input.unit && (input.unit.activeState === 'active' || input.unit.activeState === 'activating')) {
    flags.push('NEEDS-RESTART');
    evidence.push(
      `NEEDS-RESTART: ${input.unit.name} ${input.unit.activeState} (${input.unit.subState || '?'}) but the pane is ${input.pane ? 'dead' : 'missing'}: systemd will not bring it back (mosaic-top restart ${agentOfUnit(input.unit.name) ?? input.unit.name})`,
    );
  }
  if (input.claimExpired) {
    flags.push('EXPIRED-CLAIM');
    evidence.push('EXPIRED-CLAIM: backlog claim past its TTL');
  }
  const stale = input.pane && !input.pane.dead ? rulesStale(input.screen, input.process) : null;
  if (stale) {
    flags.push('RULES-STALE');
    evidence.push(stale);
  }
  return { flags, evidence };
}
