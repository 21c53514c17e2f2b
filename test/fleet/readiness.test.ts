import { describe, expect, it } from 'vitest';
import { formatAge } from '../../src/view/format.js';
import { parseHeartbeat } from '../../fleet/heartbeat.js';
import { agentFlags, classifyReadiness, matchProcess, readinessThresholds, stuckFlags } from '../../fleet/readiness.js';
import { DEFAULT_PROFILE } from '../../fleet/profile.js';
import { evaluateFloor } from '../../fleet/rules.js';
import { READINESS_ORDER } from '../../fleet/types.js';
import type { HeartbeatInfo, PaneInfo, ScreenReading } from '../../src/snapshot/types.js';

const T = { staleSeconds: 120, idleSeconds: 300 };
const pane = (o: Partial<PaneInfo> = {}): PaneInfo => ({
  target: '=a:0.0',
  paneId: '%1',
  pid: 10,
  currentCommand: 'node',
  dead: false,
  deadStatus: null,
  title: '',
  width: 80,
  height: 24,
  idleSeconds: 5,
  ...o,
});
const beat = (o: Partial<HeartbeatInfo> = {}): HeartbeatInfo => ({
  path: '/r/a.hb',
  version: 1,
  ts: 1,
  ageSeconds: 12,
  state: 'busy',
  intervalSeconds: null,
  pid: null,
  card: null,
  note: null,
  partial: false,
  skewSeconds: 0,
  problems: [],
  ...o,
});
const base = { target: '=a:0.0', socketLabel: 'mosaic-fleet' };

describe('classifyReadiness (dead ⇒ unknown ⇒ stale ⇒ working ⇒ available)', () => {
  it('dead: no pane, or pane dead', () => {
    expect(classifyReadiness({ ...base, pane: null, heartbeat: beat() }, T)).toEqual({
      readiness: 'dead',
      evidence: ['no pane =a:0.0 on socket mosaic-fleet'],
    });
    expect(classifyReadiness({ ...base, pane: pane({ dead: true, deadStatus: 3 }), heartbeat: beat() }, T).evidence).toEqual([
      'pane =a:0.0 is dead (exit status 3)',
    ]);
  });
  it('unknown: live pane, no heartbeat; remote agents are unknown, never dead', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null }, T).readiness).toBe('unknown');
    expect(classifyReadiness({ ...base, pane: null, heartbeat: null, remoteHost: 'h2' }, T)).toEqual({
      readiness: 'unknown',
      evidence: ['agent on host h2: not probed from this host'],
    });
  });
  it('unknown: a heartbeat file with no v1 field is garbage, not a fresh beat (its fresh mtime is not trusted)', () => {
    const fresh = { path: '/r/a.hb', mtimeSeconds: 1000, nowSeconds: 1000 };
    const zeros = parseHeartbeat(Buffer.alloc(300), fresh);
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 1 }), heartbeat: zeros.heartbeat, heartbeatError: zeros.error }, T)).toEqual({
      readiness: 'unknown',
      evidence: ['heartbeat /r/a.hb unreadable: no v1 field (300 bytes, binary)', 'pane alive, idle 1s'],
    });
    const partial = parseHeartbeat(Buffer.from('state=busy\nts=9'), { ...fresh, fileSize: 52428800 });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: partial.heartbeat, heartbeatError: partial.error }, T)).toEqual({
      readiness: 'working',
      evidence: ['heartbeat 0s old, state=busy (partial: file is 52428800 bytes: read only the first 15; ts missing: used file mtime)'],
    });
  });
  it('stale beats busy: age > threshold', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 121 }) }, T)).toEqual({
      readiness: 'stale',
      evidence: ['heartbeat 2m01s old > stale threshold 120s'],
    });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 120 }) }, T).readiness).toBe('working');
  });
  it('explicit state decides working/available regardless of pane idle', () => {
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 9999 }), heartbeat: beat({ state: 'busy' }) }, T)).toEqual({
      readiness: 'working',
      evidence: ['heartbeat 12s old, state=busy'],
    });
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 0 }), heartbeat: beat({ state: 'idle' }) }, T).readiness).toBe('available');
  });
  it('no state: idle unknown ⇒ working; below threshold ⇒ working; at threshold ⇒ available (never stuck)', () => {
    const legacy = beat({ state: null, version: null, partial: true });
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: null }), heartbeat: legacy }, T).readiness).toBe('working');
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: Number.POSITIVE_INFINITY }), heartbeat: legacy }, T).readiness).toBe('working');
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 299 }), heartbeat: legacy }, T).readiness).toBe('working');
    const r = classifyReadiness({ ...base, pane: pane({ idleSeconds: 300 }), heartbeat: legacy }, T);
    expect(r.readiness).toBe('available');
    expect(r.evidence).toEqual(['heartbeat 12s old, no state (partial: no v= line)', 'pane idle 5m00s ≥ 300s']);
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 1e7 }), heartbeat: legacy }, T).readiness).toBe('available');
  });
  it('says when a beat is late against its own promised interval (readiness unchanged)', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 61, intervalSeconds: 30 }) }, T)).toEqual({
      readiness: 'working',
      evidence: ['heartbeat 1m01s old, state=busy', 'beat late: promised every 30s'],
    });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 60, intervalSeconds: 30 }) }, T).evidence).toEqual([
      'heartbeat 1m00s old, state=busy',
    ]);
  });
  it('reports clock skew in evidence', () => {
    expect(
      classifyReadiness(
        { ...base, pane: pane(), heartbeat: beat({ skewSeconds: 40, partial: true, problems: ['ts 40s in the future (clock skew): clamped to now'] }) },
        T,
      ).evidence[1],
    ).toBe('clock skew: beat was 40s in the future');
  });
});

describe('thresholds', () => {
  it('defaults 120/300, honours positive integers only', () => {
    expect(readinessThresholds({})).toEqual({ staleSeconds: 120, idleSeconds: 300 });
    expect(readinessThresholds({ MOSAIC_HEARTBEAT_STALE_THRESHOLD: '30', MOSAIC_HEARTBEAT_IDLE_THRESHOLD: '60' })).toEqual({
      staleSeconds: 30,
      idleSeconds: 60,
    });
    expect(readinessThresholds({ MOSAIC_HEARTBEAT_STALE_THRESHOLD: '-1', MOSAIC_HEARTBEAT_IDLE_THRESHOLD: 'x' })).toEqual({
      staleSeconds: 120,
      idleSeconds: 300,
    });
  });
});

describe('flags', () => {
  it('DRIFT compares expected with pane command and descendants (interpreters seen through)', () => {
    expect(matchProcess('pi', 'node', ['node', 'pi']).matches).toBe(true);
    expect(matchProcess('pi', 'python3', ['python3', 'dogfood-agent.py']).matches).toBe(false);
    expect(matchProcess('verylongprogramname', 'verylongprogram', []).matches).toBe(true);
    const f = agentFlags({ pane: pane(), process: matchProcess('pi', 'python3', ['python3', 'dogfood-agent.py']), unit: null, claimExpired: false });
    expect(f).toEqual({ flags: ['DRIFT'], evidence: ['DRIFT: expected pi, pane runs python3, dogfood-agent.py'] });
  });
  it('BOOT-ENABLE when active but not enabled; EXPIRED-CLAIM when claim expired', () => {
    const unit = { name: 'mosaic-agent@a.service', loadState: 'loaded', activeState: 'active', subState: 'running', unitFileState: 'disabled', mainPid: 1 };
    expect(agentFlags({ pane: null, process: null, unit, claimExpired: true }).flags).toEqual(['BOOT-ENABLE', 'EXPIRED-CLAIM']);
    expect(agentFlags({ pane: null, process: null, unit: { ...unit, unitFileState: 'enabled' }, claimExpired: false }).flags).toEqual([]);
    expect(agentFlags({ pane: null, process: null, unit: { ...unit, activeState: 'failed' }, claimExpired: false }).flags).toEqual([]);
  });
});

describe('formatAge (evidence ages)', () => {
  it('formats ages as operators read them', () => {
    expect([null, undefined, Number.NaN, Number.POSITIVE_INFINITY].map(formatAge)).toEqual(['-', '-', '-', '-']);
    expect([-5, 0, 0.9, 59, 60, 61, 192, 3599, 3600, 3661, 86399, 86400, 90061].map(formatAge)).toEqual([
      '0s',
      '0s',
      '0s',
      '59s',
      '1m00s',
      '1m01s',
      '3m12s',
      '59m59s',
      '1h00m',
      '1h01m',
      '23h59m',
      '1d00h',
      '1d01h',
    ]);
  });
});

describe('waiting and stuck (positive runtime evidence only)', () => {
  const screenR = (o: Partial<ScreenReading> = {}): ScreenReading => ({ state: 'idle', rules: 'claude@>=2.0.0', ageSeconds: 0, sinceSeconds: 0, ...o });
  const prompt = {
    kind: 'permission' as const,
    tool: 'Bash',
    detail: 'echo hi > proto.txt',
    block: 'Bash command\n echo hi > proto.txt\nDo you want to proceed?',
    id: '0123456789abcdef',
  };

  it('READINESS_ORDER grows in spec order: dead, waiting, stuck, unknown, stale, working, available', () => {
    expect(READINESS_ORDER).toEqual(['dead', 'waiting', 'stuck', 'unknown', 'stale', 'working', 'available']);
  });

  it('a permission prompt on screen ⇒ waiting however old the beat; the evidence names the screen first', () => {
    const r = classifyReadiness(
      { ...base, pane: pane(), heartbeat: beat({ ageSeconds: 3600 }), screen: screenR({ state: 'waiting', prompt, sinceSeconds: 40 }) },
      T,
    );
    expect(r).toEqual({
      readiness: 'waiting',
      evidence: ['screen: permission prompt Bash echo hi > proto.txt [claude@>=2.0.0]', 'heartbeat 1h00m old, state=busy (older)'],
    });
    // No beat at all (no hooks): the screen alone.
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: screenR({ state: 'waiting', prompt }) }, T).readiness).toBe('waiting');
  });

  it('a beat state=waiting ⇒ waiting with its reason, held past the stale threshold while nothing contradicts it', () => {
    const w = beat({ state: 'waiting', reason: 'permission: Bash echo hi > proto.txt', ageSeconds: 3 });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: w }, T)).toEqual({
      readiness: 'waiting',
      evidence: ['heartbeat 3s old, state=waiting (permission: Bash echo hi > proto.txt)'],
    });
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 900 }), heartbeat: { ...w, ageSeconds: 900 } }, T).readiness).toBe('waiting');
    // The pane's output moved after an old waiting beat and no screen says more: the beat is not trusted further.
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 10 }), heartbeat: { ...w, ageSeconds: 900 } }, T).readiness).toBe('stale');
  });

  it('the prompt dismissed (Esc fires no hook): a fresher idle screen beats the old waiting beat', () => {
    const w = beat({ state: 'waiting', reason: 'permission: Bash', ageSeconds: 20 });
    const r = classifyReadiness({ ...base, pane: pane(), heartbeat: w, screen: screenR({ state: 'idle', sinceSeconds: 4 }) }, T);
    expect(r).toEqual({
      readiness: 'available',
      evidence: ['screen: idle at the input line [claude@>=2.0.0]', 'heartbeat 20s old, state=waiting (permission: Bash) (older)'],
    });
    // A screen that says nothing does not overrule the beat.
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: w, screen: screenR({ state: 'unknown', sinceSeconds: 4 }) }, T).readiness).toBe('waiting');
  });

  it('stuck from a beat: LIMITED / AUTH from the reason; held however old; cleared by the next turn that starts', () => {
    const s = beat({ state: 'stuck', reason: 'rate limited (429)', ageSeconds: 5 });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: s }, T)).toEqual({
      readiness: 'stuck',
      evidence: ['heartbeat 5s old, state=stuck (rate limited (429))'],
      flags: ['LIMITED'],
    });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: { ...s, reason: 'credentials rejected' } }, T).flags).toEqual(['AUTH']);
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: { ...s, reason: 'API error 500' } }, T)).toEqual({
      readiness: 'stuck',
      evidence: ['heartbeat 5s old, state=stuck (API error 500)'],
    });
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 5000 }), heartbeat: { ...s, ageSeconds: 5000 } }, T).readiness).toBe('stuck');
    // An idle screen is what a stuck agent looks like: still stuck.
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: s, screen: screenR({ state: 'idle', sinceSeconds: 1 }) }, T).readiness).toBe('stuck');
    // The next turn: a busy screen since the beat, or a busy beat.
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: s, screen: screenR({ state: 'busy', sinceSeconds: 1 }) }, T).readiness).toBe('working');
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ state: 'busy', ageSeconds: 1 }) }, T).readiness).toBe('working');
  });

  it('stuck from the screen: the last turn ended on an error; a busy beat written after it clears it', () => {
    const err = screenR({ state: 'error', error: { kind: 'rate_limit', text: 'API Error: Request rejected (429) · Rate limited' }, sinceSeconds: 30 });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: err }, T)).toEqual({
      readiness: 'stuck',
      evidence: ['screen: rate limited: API Error: Request rejected (429) · Rate limited [claude@>=2.0.0]', 'no heartbeat file'],
      flags: ['LIMITED'],
    });
    expect(
      classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: { ...err, error: { kind: 'auth', text: 'Invalid API key' } } }, T).flags,
    ).toEqual(['AUTH']);
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ state: 'busy', ageSeconds: 2 }), screen: err }, T).readiness).toBe('working');
  });

  it('no hooks: the screen decides working / available; with a beat, the fresher wins and the evidence says both', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: screenR({ state: 'busy' }) }, T)).toEqual({
      readiness: 'working',
      evidence: ['screen: busy marker [claude@>=2.0.0]', 'no heartbeat file'],
    });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: screenR({ state: 'queued' }) }, T).readiness).toBe('working');
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null, screen: screenR({ state: 'idle', ageSeconds: 4 }) }, T)).toEqual({
      readiness: 'available',
      evidence: ['screen: idle at the input line (read 4s ago) [claude@>=2.0.0]', 'no heartbeat file'],
    });
    // A hook-written idle beat ages past the stale threshold while the runtime sits idle: the screen keeps it available.
    expect(
      classifyReadiness(
        { ...base, pane: pane(), heartbeat: beat({ state: 'idle', ageSeconds: 600 }), screen: screenR({ state: 'idle', sinceSeconds: 500 }) },
        T,
      ).readiness,
    ).toBe('available');
    // A fresher busy beat beats an older idle screen (the capture may lag a tick).
    expect(
      classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ state: 'busy', ageSeconds: 1 }), screen: screenR({ state: 'idle', sinceSeconds: 30 }) }, T),
    ).toEqual({
      readiness: 'working',
      evidence: ['heartbeat 1s old, state=busy', 'screen: idle at the input line [claude@>=2.0.0]'],
    });
    // An unrecognised screen adds nothing when a beat speaks.
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat(), screen: screenR({ state: 'unknown' }) }, T).evidence).toEqual([
      'heartbeat 12s old, state=busy',
    ]);
  });

  it('Codex streams with an idle-looking screen: idle never beats a busy beat, and pane output means working', () => {
    const idle = screenR({ state: 'idle', rules: 'codex@>=0.100.0', sinceSeconds: 0 });
    expect(
      classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ state: 'busy', ageSeconds: 9 }), screen: idle, screenIdleMayStream: true }, T).readiness,
    ).toBe('working');
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 1 }), heartbeat: null, screen: idle, screenIdleMayStream: true }, T).readiness).toBe(
      'working',
    );
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 30 }), heartbeat: null, screen: idle, screenIdleMayStream: true }, T).readiness).toBe(
      'available',
    );
  });

  it("stuckFlags reads the reason's words", () => {
    expect(
      ['rate limited (429)', 'usage limit reached', 'Too Many Requests', 'credentials rejected', '401 Unauthorized', 'server_error', null].map((r) =>
        stuckFlags(r),
      ),
    ).toEqual([['LIMITED'], ['LIMITED'], ['LIMITED'], ['AUTH'], ['AUTH'], [], []]);
  });

  it('FLOOR: an agent that waits or is stuck does not hold the floor', () => {
    expect(
      evaluateFloor(
        [
          { class: 'orchestrator', readiness: 'waiting' },
          { class: 'enhancer', readiness: 'working' },
        ],
        DEFAULT_PROFILE,
      ),
    ).toMatchObject({ ok: false, orchestrators: 0, reason: 'floor broken: no orchestrator working or available' });
    expect(
      evaluateFloor(
        [
          { class: 'orchestrator', readiness: 'working' },
          { class: 'enhancer', readiness: 'stuck' },
        ],
        DEFAULT_PROFILE,
      ),
    ).toMatchObject({ ok: false, enhancers: 0 });
  });
});
