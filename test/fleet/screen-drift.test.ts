/**
 * Screen rules that follow the runtime's release: Claude Code 2.1.332's screens (auto mode, manual
 * mode, the 4-option permission prompt with its Tip line, the startup permission-mode dialog),
 * 2.1.197's `paste again to expand` footer, version ranges, and staleness (RULES-STALE) for a
 * version newer than the rules were proven on. Fixtures: capture-pane -p of the real runtimes
 * (test/runtimes/SCREENS.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyScreen, ruleSetFor, rulesStaleness, shippedScreenRules, answerRuleFor } from '../../fleet/screen.js';
import { describeScreen, rulesStale, RULES_STALE_UNKNOWN_READS } from '../../fleet/readiness.js';
import { readInput, sendRefusal } from '../../fleet/verify.js';
import { deliveryFor } from '../../fleet/delivery.js';
import type { ScreenReading } from '../../fleet/types.js';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'screens');
const screen = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8');
const reading = (c: ReturnType<typeof classifyScreen>, extra: Partial<ScreenReading> = {}): ScreenReading => ({
  ...c,
  ageSeconds: 0,
  sinceSeconds: 0,
  ...extra,
});

describe('Claude Code 2.1.332 screens', () => {
  it('auto mode (its default) and manual mode idle screens read idle by the input box, not a footer', () => {
    for (const name of ['claude-2.1.332-auto-idle', 'claude-2.1.332-auto-after-turn', 'claude-2.1.332-manual-idle', 'claude-2.1.332-manual-after-esc']) {
      expect(classifyScreen('claude', '2.1.332', screen(name)), name).toEqual({ state: 'idle', rules: 'claude@>=2.1.198', inputText: '', version: '2.1.332' });
    }
    expect(screen('claude-2.1.332-auto-idle')).toMatch(/⏵⏵ auto mode on \(shift\+tab to cycle\)/);
    expect(screen('claude-2.1.332-manual-idle')).toMatch(/⏸ manual mode on · \? for shortcuts · ← for agents/);
  });

  it('busy and a 429 read as on 2.1.197; the `Resend your message` placeholder is an empty box', () => {
    expect(classifyScreen('claude', '2.1.332', screen('claude-2.1.332-auto-busy')).state).toBe('busy');
    expect(classifyScreen('claude', '2.1.332', screen('claude-2.1.332-manual-busy')).state).toBe('busy');
    const e = classifyScreen('claude', '2.1.332', screen('claude-2.1.332-auto-error-429'));
    expect(e).toMatchObject({ state: 'error', error: { kind: 'rate_limit' }, inputText: '' });
    expect(e.error!.text).toMatch(/^API Error: Request rejected \(429\)/);
    // A send after the 429 is not refused for "text in the input box".
    const r = readInput('claude', screen('claude-2.1.332-auto-error-429'), undefined, '2.1.332');
    expect(sendRefusal({ runtime: 'claude', reading: r, heartbeat: null, rule: deliveryFor('claude'), multiLine: false })).toBeNull();
  });

  it('the 4-option permission prompt names the COMMAND (between the dashed rules), never the Tip', () => {
    const c = classifyScreen('claude', '2.1.332', screen('claude-2.1.332-manual-permission'));
    expect(c.state).toBe('waiting');
    expect(c.prompt).toMatchObject({ kind: 'permission', tool: 'Bash', detail: 'echo hi > proto.txt && cat proto.txt' });
    expect(c.prompt!.block).toMatch(/4\. No[\s\S]*Esc to cancel/);
    expect(describeScreen(reading(c))).toBe('screen: permission prompt Bash echo hi > proto.txt && cat proto.txt [claude@>=2.1.198; claude 2.1.332]');
    // Without the dashed rules the Tip line is still skipped.
    const noDashes = screen('claude-2.1.332-manual-permission')
      .split('\n')
      .filter((l) => !/^╌+$/.test(l) && l !== ' Run the command')
      .join('\n');
    expect(classifyScreen('claude', '2.1.332', noDashes).prompt!.detail).toBe('echo hi > proto.txt && cat proto.txt');
    // Allow once stays `1`; deny is Esc (`Esc to cancel`), right for 3 and 4 options alike.
    expect(answerRuleFor('claude')).toMatchObject({ allow: '1', deny: 'Escape' });
  });

  it('the startup permission-mode dialog ⇒ waiting, `dialog: …`; a send is refused', () => {
    const c = classifyScreen('claude', '2.1.332', screen('claude-2.1.332-startup-dialog'));
    expect(c).toMatchObject({ state: 'waiting', prompt: { kind: 'dialog', tool: 'permission mode', detail: 'Make auto mode your default permission mode?' } });
    expect(describeScreen(reading(c))).toBe(
      'screen: dialog: permission mode (Make auto mode your default permission mode?) [claude@>=2.1.198; claude 2.1.332]',
    );
    const r = readInput('claude', screen('claude-2.1.332-startup-dialog'), undefined, '2.1.332');
    expect(sendRefusal({ runtime: 'claude', reading: r, heartbeat: null, rule: deliveryFor('claude'), multiLine: false })).toMatch(/shows a dialog/);
  });
});

describe('Claude Code 2.1.197 after a multi-line paste', () => {
  it('`paste again to expand` instead of `? for shortcuts` still reads idle (send and readiness agree)', () => {
    const pasted = screen('claude-idle').replace('? for shortcuts', 'paste again to expand');
    expect(pasted).toMatch(/paste again to expand/);
    expect(classifyScreen('claude', '2.1.197', pasted)).toMatchObject({ state: 'idle', inputText: '' });
    // And with no footer text the rules know at all: the box's structure decides.
    const renamed = screen('claude-idle').replace('? for shortcuts', 'something new entirely');
    expect(classifyScreen('claude', '2.1.197', renamed).state).toBe('idle');
    const r = readInput('claude', pasted, undefined, '2.1.197');
    expect(r.state).toBe('idle');
    expect(sendRefusal({ runtime: 'claude', reading: r, heartbeat: null, rule: deliveryFor('claude'), multiLine: true })).toBeNull();
  });

  it('mid-turn, with `paste again to expand` hiding `esc to interrupt`: the spinner line says busy', () => {
    const busy = screen('send-claude-busy-typed');
    expect(busy).toMatch(/paste again to expand/);
    expect(busy).not.toMatch(/esc to interrupt/);
    expect(classifyScreen('claude', '2.1.197', busy)).toMatchObject({ state: 'busy', inputText: '[operator:mosaic-top] while busy' });
    // The spinner line alone decides: with it gone (the turn over) the same screen is idle.
    const over = busy.replace(/^✢ Scurrying… .*$/m, '✻ Scurried for 2s');
    expect(classifyScreen('claude', '2.1.197', over).state).toBe('idle');
  });
});

describe('version ranges and RULES-STALE', () => {
  const rules = shippedScreenRules();

  it('the version picks the range; unknown reads with the newest; proven versions are not stale', () => {
    expect(ruleSetFor(rules, 'claude', '2.1.197')!.label).toBe('claude@>=2.0.0 <2.1.198');
    expect(ruleSetFor(rules, 'claude', '2.1.332')!.label).toBe('claude@>=2.1.198');
    expect(ruleSetFor(rules, 'claude', null)!.label).toBe('claude@>=2.1.198');
    for (const [rt, v] of [
      ['claude', '2.1.197'],
      ['claude', '2.1.332'],
      ['codex', '0.171.0'],
      ['pi', '0.73.1'],
      ['opencode', '1.18.33'],
    ] as const) {
      expect(rulesStaleness(ruleSetFor(rules, rt, v)!, v), `${rt} ${v}`).toBeNull();
    }
    expect(rulesStaleness(ruleSetFor(rules, 'claude', '1.0.3')!, '1.0.3')).toMatch(/claude 1\.0\.3 is outside every rules range/);
  });

  it('a fake future version 9.9.9 with a renamed footer ⇒ RULES-STALE naming the version', () => {
    const future = screen('claude-2.1.332-auto-idle').replace('⏵⏵ auto mode on (shift+tab to cycle) · ← for agents', '⏵⏵⏵ autopilot engaged');
    const c = classifyScreen('claude', '9.9.9', future);
    expect(c.stale).toBe('claude 9.9.9 is newer than 2.1.332, the newest the rules claude@>=2.1.198 were proven on');
    const flag = rulesStale(reading(c), { expected: 'claude', seen: ['claude'], matches: true });
    expect(flag).toBe('RULES-STALE: claude 9.9.9 is newer than 2.1.332, the newest the rules claude@>=2.1.198 were proven on');
    // A future screen the rules cannot read at all: the flag says what was not recognised, and a send says which rules and version.
    const unreadable = 'Claude Code v9.9.9\n\n  ╭ new input ╮\n  ▸ \n  autopilot engaged';
    const u = classifyScreen('claude', '9.9.9', unreadable);
    expect(u).toMatchObject({ state: 'unknown', unrecognised: 'autopilot engaged', version: '9.9.9' });
    expect(rulesStale(reading(u), null)).toMatch(/^RULES-STALE: claude 9\.9\.9 is newer than 2\.1\.332.*; not recognised: autopilot engaged$/);
    const r = readInput('claude', unreadable, undefined, '9.9.9');
    expect(sendRefusal({ runtime: 'claude', reading: r, heartbeat: null, rule: deliveryFor('claude'), multiLine: false })).toBe(
      "claude's input line is not on screen [screen rules claude@>=2.1.198 read nothing they know on claude 9.9.9, last line 'autopilot engaged': starting, an unknown dialog, or another program; claude 9.9.9 is newer than 2.1.332, the newest the rules claude@>=2.1.198 were proven on]: nothing typed",
    );
  });

  it(`a proven version whose pane reads unknown ${RULES_STALE_UNKNOWN_READS} times in a row while it runs the runtime ⇒ RULES-STALE; not under DRIFT`, () => {
    const u = classifyScreen('claude', '2.1.332', 'Claude Code v2.1.332\n\n  something we never saw');
    const runs = { expected: 'claude', seen: ['claude'], matches: true };
    expect(rulesStale(reading(u, { unknownReads: RULES_STALE_UNKNOWN_READS - 1 }), runs)).toBeNull();
    expect(rulesStale(reading(u, { unknownReads: RULES_STALE_UNKNOWN_READS }), runs)).toBe(
      `RULES-STALE: claude 2.1.332: the rules claude@>=2.1.198 read its screen as unknown ${RULES_STALE_UNKNOWN_READS} times in a row; not recognised: something we never saw`,
    );
    // Another program in the pane (DRIFT) is not the rules' fault.
    expect(rulesStale(reading(u, { unknownReads: 9 }), { expected: 'claude', seen: ['bash', 'cat'], matches: false })).toBeNull();
  });
});
