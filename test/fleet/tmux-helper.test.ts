import { afterEach, describe, expect, it } from 'vitest';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

describe('test/helpers/tmux', () => {
  let tmux: IsolatedTmux | null = null;
  afterEach(async () => {
    await tmux?.stop();
    tmux = null;
  });

  it('starts an isolated server, runs sessions, keeps dead panes, and stops', async () => {
    tmux = await startIsolatedTmux('helper');
    expect(tmux.socket).toMatch(/^mt-helper-/);
    await tmux.newSession('a', ['sh', '-c', 'echo hello-a; sleep 600']);
    await waitFor(async () => (await tmux!.capture('a')).includes('hello-a'), 'pane a prints');
    await tmux.newSession('b', ['sh', '-c', 'exit 3'], { remainOnExit: true });
    await waitFor(async () => (await tmux!.ok(['display-message', '-p', '-t', '=b:0.0', '#{pane_dead}'])).trim() === '1', 'pane b dead');
    expect((await tmux.sessions()).sort()).toEqual(['a', 'b']);
    await tmux.stop();
    expect(await tmux.alive()).toBe(false);
  });
});
