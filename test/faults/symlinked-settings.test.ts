/**
 * Faults: dotfiles kept as symlinks (stow, chezmoi). `hooks install` on a symlinked
 * `settings.json` writes through the link to its target (atomically: no temp file left) and
 * keeps the link — a relative link, a chain of links, a dangling one (its target is created);
 * a link to something not a regular file (a FIFO) is refused with the reason, at once. Real
 * program. Needs a build.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBounded } from './harness.js';
import { readJsonFile, type HooksFile } from '../helpers/json.js';

describe('faults: hooks install on a symlinked settings.json (real program)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let settings: string;
  let dotfiles: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hooklink-'));
    const home = path.join(dir, 'mosaic');
    fs.mkdirSync(path.join(home, 'fleet'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'work', '.claude'), { recursive: true });
    fs.writeFileSync(
      path.join(home, 'fleet', 'roster.yaml'),
      `version: 1\nagents:\n  - name: cc1\n    runtime: claude\n    working_directory: ${path.join(dir, 'work')}\n`,
    );
    settings = path.join(dir, 'work', '.claude', 'settings.json');
    dotfiles = path.join(dir, 'dotfiles', 'claude');
    fs.mkdirSync(dotfiles, { recursive: true });
    const { MOSAIC_AGENT_NAME: _a, TMUX: _t, TMUX_PANE: _p, ...rest } = process.env;
    env = { ...rest, HOME: path.join(dir, 'userhome'), MOSAIC_HOME: home };
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const install = () => runBounded(['hooks', 'install', 'cc1', '--no-codex-trust'], env);

  it('a relative link and a chain of links: the target gets the hooks, every link stays', async () => {
    const target = path.join(dotfiles, 'settings.json');
    fs.writeFileSync(target, JSON.stringify({ model: 'opus', hooks: {} }, null, 2));
    const middle = path.join(dir, 'dotfiles', 'current.json');
    fs.symlinkSync(path.relative(path.dirname(middle), target), middle);
    fs.symlinkSync(path.relative(path.dirname(settings), middle), settings);
    const r = await install();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(fs.lstatSync(settings).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(middle).isSymbolicLink()).toBe(true);
    const json = readJsonFile<HooksFile>(target);
    expect(json.model).toBe('opus');
    expect(Object.keys(json.hooks)).toContain('Stop');
    // Atomic: the temp file went next to the target and was renamed over it.
    expect(fs.readdirSync(dotfiles)).toEqual(['settings.json']);
    expect(fs.readdirSync(path.dirname(settings))).toEqual(['settings.json']);
  });

  it('a dangling link: its target is created, the link stays', async () => {
    const target = path.join(dotfiles, 'settings.json');
    fs.symlinkSync(target, settings);
    const r = await install();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(fs.lstatSync(settings).isSymbolicLink()).toBe(true);
    expect(Object.keys(readJsonFile<HooksFile>(target).hooks)).toContain('Stop');
  });

  it('a link to a FIFO: refused at once with the reason, nothing written', async () => {
    const fifo = path.join(dotfiles, 'settings.json');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync(fifo, settings);
    const r = await runBounded(['hooks', 'install', 'cc1', '--no-codex-trust'], env, 15_000);
    expect(r.killed, r.stderr).toBe(false);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`${settings}.*a FIFO, not a regular file`));
    expect(r.code).not.toBe(0);
    expect(fs.lstatSync(settings).isSymbolicLink()).toBe(true);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });
});
