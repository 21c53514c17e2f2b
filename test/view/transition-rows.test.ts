import { describe, expect, it } from 'vitest';
import { TRANSITION_SCHEMA, type Transition } from '../../src/transitions/diff.js';
import {
  agentTransitionLines,
  timelineCellCount,
  timelineLegend,
  timelineText,
  timelineWords,
  transitionRowText,
  transitionsViewLines,
} from '../../src/view/transition-rows.js';
import { at } from '../helpers/must.js';

const now = Date.parse('2026-12-01T12:00:00Z');
const tr = (agent: string, from: string, to: string, secondsAgo: number, evidence = ['ev']): Transition => ({
  schema: TRANSITION_SCHEMA,
  kind: 'readiness',
  scope: 'agent',
  agent,
  host: null,
  from,
  to,
  at: new Date(now - secondsAgo * 1000).toISOString(),
  evidence,
  attention: to === 'dead',
});

describe('transition rows', () => {
  it('the view lists newest first with ages, attention marked, muted agents marked, evidence sanitized', () => {
    const list = [tr('coder1', 'working', 'dead', 300, ['no pane \u001b[31m=coder1']), tr('coder2', 'working', 'available', 12)];
    const lines = transitionsViewLines(list, now, { muted: ['coder1'], historyFile: '/run/transitions.ndjson' });
    expect(lines[0]).toMatch(/^\s+12s ago {2}coder2 {2}working → available {2}ev$/);
    expect(lines[1]).toMatch(/^\s+5m00s ago {2}coder1 \(muted\) {2}working → dead {2}! {2}no pane /);
    expect(lines[1]).not.toContain('\u001b');
    expect(lines[2]).toBe('(kept 24 h in /run/transitions.ndjson)');
    expect(transitionsViewLines([], now)[0]).toMatch(/no transitions yet/);
    expect(
      transitionRowText({ ...at(list, 0), kind: 'flag', scope: 'fleet', agent: null, flag: 'FLOOR', change: 'raised', from: null, to: 'FLOOR' }, now),
    ).toMatch(/fleet {2}\+FLOOR/);
  });
  it('details: since and recent transitions of one agent', () => {
    const list = [tr('coder1', 'working', 'dead', 600), tr('coder2', 'working', 'dead', 500), tr('coder1', 'dead', 'working', 252)];
    const lines = agentTransitionLines(list, 'coder1', 'working', now);
    expect(lines[0]).toBe(`working since 4m12s (${new Date(now - 252_000).toISOString()})`);
    expect(lines.slice(2)).toEqual([expect.stringMatching(/4m12s ago {2}dead → working/), expect.stringMatching(/10m00s ago {2}working → dead {2}!/)]);
    expect(agentTransitionLines(list, 'coder1', 'stale', now)[0]).toMatch(/stale since: unknown/);
  });
  it('timeline: glyphs per cell, words under NO_COLOR (newest kept when cut), legend, cells by width', () => {
    const states = [null, null, 'working', 'working', 'dead', 'working'];
    expect(timelineText(states)).toBe('..##X#');
    expect(timelineWords(states, 80)).toBe('unseen 20m working 20m dead 10m working 10m');
    expect(timelineWords(states, 22)).toBe('…dead 10m working 10m');
    expect(timelineCellCount(80)).toBe(12);
    expect(timelineCellCount(200)).toBe(60);
    expect(timelineLegend(12, true)).toMatch(/^LAST 1H \(5m a cell, oldest left\): # working {2}= available/);
    expect(timelineLegend(12, false)).toMatch(/in words/);
  });
});
