/**
 * Agents on other hosts are read-only in the console: now that their rows carry a live pane
 * (probed over ssh), send / claim / watch / preview must refuse them before touching the local
 * tmux server, which would otherwise be asked for a pane of the same name.
 */
import { describe, expect, it } from 'vitest';
import { createPoller } from '../../src/poller.js';
import { refusalBeforeAsking, remoteAgentRefusal } from '../../src/console/dispatch.js';
import { createConsoleStore } from '../../src/store/index.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

const remote = () => makeAgent('far', { host: 'gpu2', ssh: 'u@gpu2', readiness: 'working' });

describe('console: remote agents are read-only', () => {
  it('send and claim are refused before any dialog, naming the host and the ssh target', () => {
    const agent = remote();
    expect(agent.pane && !agent.pane.dead).toBe(true);
    const store = createConsoleStore();
    const state = store.getState();
    expect(refusalBeforeAsking(state, agent, 'send')).toBe('send refused: far lives on host gpu2; remote agents are read-only in mosaic-top (use ssh u@gpu2)');
    expect(refusalBeforeAsking(state, agent, 'claim')).toMatch(/^claim refused: far lives on host gpu2;/);
    expect(remoteAgentRefusal(agent, 'watch')).toMatch(/^watch refused: far lives on host gpu2;/);
    expect(refusalBeforeAsking(state, makeAgent('near', { readiness: 'working' }), 'send')).toBeNull();
  });

  it('the preview does not capture a remote pane on the local server', async () => {
    const store = createConsoleStore();
    const captures: string[] = [];
    const poller = createPoller({
      store,
      collect: async () => makeSnapshot([remote()]),
      capture: async (_socket, target) => { captures.push(target); return 'local pane of the same name'; },
      intervalMs: 60_000,
    });
    store.getState().togglePreview();
    poller.start();
    await poller.idle();
    await poller.capturePreview();
    poller.stop();
    expect(captures).toEqual([]);
    expect(store.getState().ui.preview).toEqual({ agent: 'far', lines: [], error: 'far lives on host gpu2: no preview of remote panes' });
  });
});
