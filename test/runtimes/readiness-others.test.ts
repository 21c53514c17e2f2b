/**
 * Readiness from the screen rules alone (no hooks) on the REAL Codex 0.171.0, pi 0.73.1 and
 * opencode 1.18.33, each in a tmux pane, through the snapshot the console shows: Codex idle /
 * working / waiting at its approval prompt; pi idle / working /
 * queued (a steering message, read as working); opencode idle and working (one serial smoke
 * test: it is the heaviest runtime). One runtime pane alive at a time in this file.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/readiness-others.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import type { RuntimeName } from './install.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { watchAgent, type Watched } from './watch.js';

/** Starts `runtime` in a pane watched by a one-agent roster; stops everything after the describe. */
function withRuntime(runtime: RuntimeName): { get: () => { endpoint: ModelEndpoint; pane: RuntimePane; w: Watched } } {
  let endpoint: ModelEndpoint;
  let tmux: IsolatedTmux;
  let pane: RuntimePane;
  let home: string;
  let w: Watched;
  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    tmux = await startIsolatedTmux(`rt-${runtime}`);
    home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-rt-${runtime}-`));
    w = watchAgent(`${runtime}1`, runtime, tmux, home);
    pane = await launchRuntime(runtime, { endpoint, tmux, session: `${runtime}1` });
  });
  afterAll(async () => {
    await pane?.stop();
    await tmux?.stop();
    await endpoint?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });
  return { get: () => ({ endpoint, pane, w }) };
}

describe('real Codex, screen rules only', () => {
  const rt = withRuntime('codex');

  it('idle at its composer ⇒ available', async () => {
    const row = await rt.get().w.until('available', (r) => r.readiness === 'available');
    expect(row.evidence[0]).toMatch(/^screen: idle at the input line( \(read \S+ ago\))? \[codex@>=0\.100\.0(; codex [0-9.]+)?\]$/);
    expect(row.screen).toMatchObject({ state: 'idle', inputText: '' });
  });

  it('a turn waiting for its first token ⇒ working (the Working marker)', async () => {
    const { endpoint, pane, w } = rt.get();
    const reply = endpoint.queue({ kind: 'text', text: 'later', hold: 'before-first-token' });
    await pane.submit('take your time');
    await reply.started;
    await pane.waitForScreen(SCREEN.codex.busy, 30_000);
    const row = await w.until('working', (r) => r.readiness === 'working');
    expect(row.evidence[0]).toMatch(/^screen: busy marker/);
    reply.release();
    // Codex streams with an idle-looking composer: available once its output has been still for 5 s.
    await w.until('available after the turn', (r) => r.readiness === 'available', 60_000);
  });

  it('its approval prompt ⇒ waiting with the shell command; Esc ⇒ not waiting', async () => {
    const { endpoint, pane, w } = rt.get();
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await pane.submit('write the proto file');
    await pane.waitForScreen(SCREEN.codex.permission!, 60_000);
    const first = await w.tick();
    const row = first.readiness === 'waiting' ? first : await w.tick();
    expect(row.readiness).toBe('waiting');
    expect(row.evidence[0]).toMatch(/^screen: permission prompt shell echo hi > proto\.txt \[codex@>=0\.100\.0(; codex [0-9.]+)?\]$/);
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
    await pane.keys('Escape');
    await w.until('no longer waiting once the prompt is gone', (r) => r.readiness !== 'waiting' && r.screen?.state !== 'waiting');
  });
});

describe('real pi, screen rules only', () => {
  const rt = withRuntime('pi');

  it('idle under its editor ⇒ available', async () => {
    const row = await rt.get().w.until('available', (r) => r.readiness === 'available');
    expect(row.evidence[0]).toMatch(/^screen: idle at the input line( \(read \S+ ago\))? \[pi@>=0\.60\.0(; pi [0-9.]+)?\]$/);
  });

  it('a slow reply ⇒ working; a message sent meanwhile is queued (steering) and still working', async () => {
    const { endpoint, pane, w } = rt.get();
    // Streamed in pieces over 1 s, then held open: the turn lasts until the release, whatever the pace.
    const reply = endpoint.queue({ kind: 'text', text: 'one two three four five six', paceSeconds: 1, hold: 'before-end' });
    await pane.submit('answer slowly');
    await reply.started;
    await pane.waitForScreen(SCREEN.pi.busy, 30_000);
    expect((await w.until('working', (r) => r.readiness === 'working')).evidence[0]).toMatch(/^screen: busy marker/);
    await pane.submit('and one more thing');
    await pane.waitForScreen(/Steering: /, 30_000);
    const queued = await w.until('queued while busy', (r) => r.screen?.state === 'queued');
    expect(queued.readiness).toBe('working');
    expect(queued.evidence[0]).toMatch(/^screen: busy, message queued/);
    reply.release();
    await w.until('available after both turns', (r) => r.readiness === 'available', 90_000);
  });
});

describe('real opencode, screen rules only (serial smoke)', () => {
  const rt = withRuntime('opencode');

  it('idle ⇒ available; a held reply ⇒ working; then available again', async () => {
    const { endpoint, pane, w } = rt.get();
    const row = await w.until('available', (r) => r.readiness === 'available', 90_000);
    expect(row.evidence[0]).toMatch(/^screen: idle at the input line( \(read \S+ ago\))? \[opencode@>=1\.0\.0(; opencode [0-9.]+)?\]$/);
    const reply = endpoint.queue({ kind: 'text', text: 'slowly now', hold: 'before-end' });
    await pane.submit('take your time');
    await reply.started;
    await pane.waitForScreen(SCREEN.opencode.busy, 60_000);
    expect((await w.until('working', (r) => r.readiness === 'working')).evidence[0]).toMatch(/^screen: busy marker/);
    reply.release();
    await w.until('available after the turn', (r) => r.readiness === 'available', 90_000);
  });
});
