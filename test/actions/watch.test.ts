import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isViewerSessionName, viewerSessionName } from '../../fleet/tmux.js';
import { readTmuxPrefix, watchAgent, watchBanner } from '../../src/actions/watch.js';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';

describe('watch: names and banner', () => {
  it('names viewers <agent>-watch-<pid> and recognises them', () => {
    expect(viewerSessionName('coder1', 4242)).toBe('coder1-watch-4242');
    expect(isViewerSessionName('coder1-watch-4242')).toBe(true);
    expect(isViewerSessionName('coder1-watch-')).toBe(false);
    expect(isViewerSessionName('coder1')).toBe(false);
  });

  it('says how to come back with the given prefix and where', () => {
    expect(watchBanner('coder1', 'mosaic-fleet', 'C-a')).toMatch(/Watching coder1 read-only \(tmux socket mosaic-fleet\).*press C-a then d/);
    expect(watchBanner('coder1', null, 'C-b')).toMatch(/the default tmux socket/);
  });
});

describe('watchAgent refusals (real isolated tmux)', () => {
  let tmux: IsolatedTmux;
  beforeEach(async () => {
    tmux = await startIsolatedTmux('actions-watch');
  });
  afterEach(async () => {
    await tmux.stop();
  });

  it('reads the server prefix', async () => {
    expect(await readTmuxPrefix(tmux.socket)).toBe('C-b');
    await tmux.ok(['set-option', '-g', 'prefix', 'C-s']);
    expect(await readTmuxPrefix(tmux.socket)).toBe('C-s');
  });

  it('refuses without a TTY, and for a missing session, creating no viewer', async () => {
    const noTty = await watchAgent({ agent: 'coder1', socket: tmux.socket, stdinIsTTY: false });
    expect(noTty).toMatchObject({ ok: false, viewer: null });
    expect(noTty.error).toMatch(/not a TTY/);
    let banner: string | null = null;
    const missing = await watchAgent({ agent: 'ghost', socket: tmux.socket, stdinIsTTY: true, onBeforeAttach: (m) => (banner = m) });
    expect(missing.ok).toBe(false);
    expect(missing.error).toMatch(/cannot watch ghost: no pane =ghost:0\.0 .*can't find session: ghost/);
    expect(banner).toBeNull();
    expect(await tmux.sessions()).toEqual([]);
  });
});
