/**
 * Agents on other hosts in the console: their rows carry the pane seen over ssh, so send,
 * claim-and-dispatch and watch go ahead (over ssh: the real program is tested against a real
 * sshd in test/fleet/remote.test.ts) and the preview captures through the agent's own server,
 * never by name on the local one.
 */
import { describe, expect, it } from 'vitest';
import { createPoller } from '../../src/poller.js';
import { refusalBeforeAsking } from '../../src/keys/requirements.js';
import { createConsoleActions } from '../../src/keys/commands.js';
import { agentTmuxServer } from '../../src/actions/agent-target.js';
import { isRemoteTmux, tmuxServerLabel } from '../../fleet/exec.js';
import { resolvePaths } from '../../lib/paths.js';
import { createConsoleStore } from '../../src/store/index.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

const remote = () => makeAgent('far', { host: 'gpu2', ssh: 'u@gpu2', readiness: 'working' });

describe('console: remote agents', () => {
  it('send, claim and watch go ahead on a live remote pane; a dead one is refused as anywhere', () => {
    const agent = remote();
    expect(agent.pane && !agent.pane.dead).toBe(true);
    const store = createConsoleStore();
    expect(refusalBeforeAsking(store.getState(), agent, 'send')).toBeNull();
    expect(refusalBeforeAsking(store.getState(), agent, 'claim')).toBeNull();
    expect(refusalBeforeAsking(store.getState(), { ...agent, pane: null, readiness: 'dead' }, 'send')).toBe('send refused: far has no live pane (dead)');
    const watched: string[] = [];
    const actions = createConsoleActions({
      store,
      paths: resolvePaths({ mosaicHome: '/tmp/mt-nohome' }, {}),
      poller: { refresh: () => {}, capturePreview: async () => {} },
      quit: () => {},
      watch: (a) => watched.push(a.name),
    });
    actions.watch(agent);
    expect(watched).toEqual(['far']);
  });

  it("a remote row's tmux server is its host's over ssh; a local row's is its socket", () => {
    const paths = resolvePaths({ mosaicHome: '/tmp/mt-nohome' }, {});
    const server = agentTmuxServer(remote(), paths);
    expect(isRemoteTmux(server)).toBe(true);
    expect(tmuxServerLabel(server)).toBe(`socket ${remote().socket} at host gpu2`);
    expect(agentTmuxServer(makeAgent('near', { socket: 'fleet' }), paths)).toBe('fleet');
    // A roster host that names this machine is local.
    expect(agentTmuxServer(makeAgent('here', { socket: 'fleet', host: 'localhost' }), paths)).toBe('fleet');
  });

  it('the preview captures a remote pane through the agent (its own server), never by name on the local one', async () => {
    const store = createConsoleStore();
    const asked: AgentRow[] = [];
    const poller = createPoller({
      store,
      collect: async () => makeSnapshot([remote()]),
      capture: async (agent) => {
        asked.push(agent);
        return 'remote pane text';
      },
      intervalMs: 60_000,
    });
    store.getState().togglePreview();
    poller.start();
    await poller.idle();
    await poller.capturePreview();
    poller.stop();
    expect(asked.map((a) => [a.name, a.ssh])).toContainEqual(['far', 'u@gpu2']);
    expect(store.getState().ui.preview).toEqual({ agent: 'far', lines: ['remote pane text'], error: null });
  });
});
