/**
 * The lifecycle keys (restart B, stop D, start U) as keymap data: one binding each with its
 * systemd verb, routed by the dispatcher into a y/n confirmation, refused in --readonly and when
 * systemd is unavailable, in the help and hints; the confirmation text; the result dialog.
 */
import { describe, expect, it } from 'vitest';
import { KEYMAP } from '../../src/view/keymap.js';
import { dispatchKey } from '../../src/keys/router.js';
import { createConsoleActions } from '../../src/keys/commands.js';
import { lifecycleLines } from '../../src/view/result-lines.js';
import { createConsoleStore } from '../../src/store/index.js';
import { unitQuestion } from '../../src/view/dialog-lines.js';
import type { LifecycleResult, UnitActionOptions } from '../../src/actions/lifecycle.js';
import { agentRow, makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions } from '../helpers/render.js';
import type { MosaicPaths } from '../../lib/paths.js';

function setup(opts: { readonly?: boolean; systemdError?: string } = {}) {
  const store = createConsoleStore({ readonly: opts.readonly ?? false, color: false });
  const snap = makeSnapshot(mixedFleet());
  if (opts.systemdError) snap.probes.systemd = { ok: false, durationMs: 1, error: opts.systemdError };
  store.getState().applySnapshot(snap);
  const actions = recordingActions();
  const press = (name: string) => dispatchKey({ name, input: name }, store, actions);
  return { store, actions, press };
}

describe('lifecycle keys (keymap data)', () => {
  it('one binding per verb, fleet scope, mutating, with a hint and a help line', () => {
    const unit = KEYMAP.filter((b) => b.unitVerb);
    expect(unit.map((b) => [b.keys[0], b.unitVerb, b.hint])).toEqual([
      ['B', 'restart', 'restart'],
      ['D', 'stop', 'stop'],
      ['U', 'start', 'start'],
    ]);
    for (const b of unit) expect(b).toMatchObject({ mutates: true, showInHelp: true, scope: ['fleet'] });
  });

  it('B asks to confirm for the selected agent; y runs the restart, n cancels without acting', () => {
    const { store, actions, press } = setup();
    press('j'); // enhancer1
    expect(press('B')).toBe('fleet');
    expect(store.getState().ui.open).toMatchObject({ kind: 'confirm-unit', agent: 'enhancer1', verb: 'restart' });
    press('y');
    expect(actions.calls).toEqual(['unitAction enhancer1 restart']);
    press('n');
    const s = setup();
    s.press('D');
    s.press('n');
    expect(s.store.getState().ui.open.kind).toBe('none');
    expect(s.actions.calls).toEqual([]);
    expect(s.store.getState().ui.notices.at(-1)?.text).toBe('stop cancelled');
  });

  it('--readonly: the keys are refused with a notice, no dialog', () => {
    const { store, actions, press } = setup({ readonly: true });
    for (const k of ['B', 'D', 'U']) press(k);
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).toEqual([]);
    expect(store.getState().ui.notices.map((n) => n.text)).toEqual([
      'read-only console: B disabled (unit-restart)',
      'read-only console: D disabled (unit-stop)',
      'read-only console: U disabled (unit-start)',
    ]);
  });

  it('systemd unavailable: refused before asking, with the reason', () => {
    const { store, actions, press } = setup({ systemdError: 'systemd unavailable: Failed to connect to bus: No medium found' });
    press('B');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).toEqual([]);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('restart refused: systemd unavailable: Failed to connect to bus: No medium found');
  });

  it('the question names the unit and what a working agent would lose', () => {
    const fleet = makeSnapshot(mixedFleet());
    const coder1 = { ...agentRow(fleet, 'coder1'), heartbeat: null, claim: { cardId: 'A7', title: 't', secondsLeft: 60 } };
    expect(unitQuestion(coder1, 'restart')).toEqual([
      'Restart coder1? (systemctl --user restart mosaic-agent@coder1.service; waits for a new pane)',
      'WORKING now (card A7, heartbeat none): it will be interrupted',
    ]);
    expect(unitQuestion({ ...agentRow(fleet, 'coder3'), flags: ['NEEDS-RESTART'] }, 'start')[1]).toBe(
      'unit active, pane gone: start does nothing — use restart (B)',
    );
  });

  it('the console action runs the unit action with force (confirmed) and shows the result in place', async () => {
    const store = createConsoleStore({ readonly: false, color: false });
    store.getState().applySnapshot(makeSnapshot(mixedFleet()));
    const seen: UnitActionOptions[] = [];
    const result: LifecycleResult = {
      ok: true,
      verb: 'restart',
      agent: 'coder3',
      unit: 'mosaic-agent@coder3.service',
      host: null,
      outcome: 'done',
      reason: null,
      forced: true,
      before: null,
      after: null,
      evidence: ['new pane pid 22 (was 11)', 'NEEDS-RESTART cleared'],
      elapsedMs: 900,
      message: 'restart coder3: done in 900 ms',
      recorded: 'backlog event #4',
    };
    let refreshed = 0;
    const actions = createConsoleActions({
      store,
      paths: { runDir: '/nonexistent' } as MosaicPaths,
      poller: {
        refresh: () => {
          refreshed++;
        },
        capturePreview: async () => {},
      },
      quit: () => {},
      watch: () => {},
      unitAction: async (o) => {
        seen.push(o);
        return result;
      },
    });
    await actions.unitAction!(agentRow(store.getState().fleet.snapshot!, 'coder3'), 'restart');
    expect(seen[0]).toMatchObject({ agent: 'coder3', verb: 'restart', force: true });
    expect(store.getState().ui.open).toMatchObject({
      kind: 'message',
      pending: null,
      message: { title: 'restart coder3: done', lines: lifecycleLines(result) },
    });
    expect(lifecycleLines(result)).toEqual([
      'restart coder3: done in 900 ms',
      'evidence: new pane pid 22 (was 11)',
      'evidence: NEEDS-RESTART cleared',
      'recorded: backlog event #4',
    ]);
    expect(refreshed).toBe(1);
  });
});
