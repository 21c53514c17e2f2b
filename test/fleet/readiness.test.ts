import { describe, expect, it } from 'vitest';
import { formatAge } from '../../src/view/format.js';
import { parseHeartbeat } from '../../fleet/heartbeat.js';
import { agentFlags, classifyReadiness, fleetFloor, matchProcess, readinessThresholds } from '../../fleet/readiness.js';
import type { HeartbeatInfo, PaneInfo } from '../../src/snapshot/types.js';

const T = { staleSeconds: 120, idleSeconds: 300 };
const pane = (o: Partial<PaneInfo> = {}): PaneInfo => ({ target: '=a:0.0', paneId: '%1', pid: 10, currentCommand: 'node', dead: false, deadStatus: null, title: '', width: 80, height: 24, idleSeconds: 5, ...o });
const beat = (o: Partial<HeartbeatInfo> = {}): HeartbeatInfo => ({ path: '/r/a.hb', version: 1, ts: 1, ageSeconds: 12, state: 'busy', intervalSeconds: null, pid: null, card: null, note: null, partial: false, skewSeconds: 0, problems: [], ...o });
const base = { target: '=a:0.0', socketLabel: 'mosaic-fleet' };

describe('classifyReadiness (dead ⇒ unknown ⇒ stale ⇒ working ⇒ available)', () => {
  it('dead: no pane, or pane dead', () => {
    expect(classifyReadiness({ ...base, pane: null, heartbeat: beat() }, T)).toEqual({ readiness: 'dead', evidence: ['no pane =a:0.0 on socket mosaic-fleet'] });
    expect(classifyReadiness({ ...base, pane: pane({ dead: true, deadStatus: 3 }), heartbeat: beat() }, T).evidence).toEqual(['pane =a:0.0 is dead (exit status 3)']);
  });
  it('unknown: live pane, no heartbeat; remote agents are unknown, never dead', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: null }, T).readiness).toBe('unknown');
    expect(classifyReadiness({ ...base, pane: null, heartbeat: null, remoteHost: 'h2' }, T)).toEqual({ readiness: 'unknown', evidence: ['agent on host h2: not probed from this host'] });
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
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 121 }) }, T)).toEqual({ readiness: 'stale', evidence: ['heartbeat 2m01s old > stale threshold 120s'] });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 120 }) }, T).readiness).toBe('working');
  });
  it('explicit state decides working/available regardless of pane idle', () => {
    expect(classifyReadiness({ ...base, pane: pane({ idleSeconds: 9999 }), heartbeat: beat({ state: 'busy' }) }, T)).toEqual({ readiness: 'working', evidence: ['heartbeat 12s old, state=busy'] });
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
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 61, intervalSeconds: 30 }) }, T)).toEqual({ readiness: 'working', evidence: ['heartbeat 1m01s old, state=busy', 'beat late: promised every 30s'] });
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ ageSeconds: 60, intervalSeconds: 30 }) }, T).evidence).toEqual(['heartbeat 1m00s old, state=busy']);
  });
  it('reports clock skew in evidence', () => {
    expect(classifyReadiness({ ...base, pane: pane(), heartbeat: beat({ skewSeconds: 40, partial: true, problems: ['ts 40s in the future (clock skew): clamped to now'] }) }, T).evidence[1]).toBe('clock skew: beat was 40s in the future');
  });
});

describe('thresholds', () => {
  it('defaults 120/300, honours positive integers only', () => {
    expect(readinessThresholds({})).toEqual({ staleSeconds: 120, idleSeconds: 300 });
    expect(readinessThresholds({ MOSAIC_HEARTBEAT_STALE_THRESHOLD: '30', MOSAIC_HEARTBEAT_IDLE_THRESHOLD: '60' })).toEqual({ staleSeconds: 30, idleSeconds: 60 });
    expect(readinessThresholds({ MOSAIC_HEARTBEAT_STALE_THRESHOLD: '-1', MOSAIC_HEARTBEAT_IDLE_THRESHOLD: 'x' })).toEqual({ staleSeconds: 120, idleSeconds: 300 });
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
  it('floor: 1 orchestrator and 1 enhancer working or available', () => {
    expect(fleetFloor([{ class: 'orchestrator', readiness: 'working' }, { class: 'enhancer', readiness: 'available' }]).ok).toBe(true);
    expect(fleetFloor([{ class: 'orchestrator', readiness: 'working' }, { class: 'enhancer', readiness: 'stale' }])).toEqual({ ok: false, orchestrators: 1, enhancers: 0, reason: 'floor broken: no enhancer working or available' });
    expect(fleetFloor([]).reason).toBe('floor broken: no orchestrator working or available, no enhancer working or available');
  });
});

describe('formatAge (evidence ages)', () => {
  it('formats ages as operators read them', () => {
    expect([null, undefined, Number.NaN, Number.POSITIVE_INFINITY].map(formatAge)).toEqual(['-', '-', '-', '-']);
    expect([-5, 0, 0.9, 59, 60, 61, 192, 3599, 3600, 3661, 86399, 86400, 90061].map(formatAge)).toEqual(
      ['0s', '0s', '0s', '59s', '1m00s', '1m01s', '3m12s', '59m59s', '1h00m', '1h01m', '23h59m', '1d00h', '1d01h'],
    );
  });
});
