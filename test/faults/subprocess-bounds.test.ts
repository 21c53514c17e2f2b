/**
 * Faults: a subprocess that never answers and leaves a child holding its pipes. Every bound
 * must end the whole process group and stop waiting for inherited pipes: `hooks install` with a
 * `$MOSAIC_CODEX_BIN` that starts a background child and never speaks JSON-RPC returns after
 * its 15 s bound (it hung 730 s), and the child it left is gone; the same for the common runner
 * (fleet/exec.ts runCommand) at its deadline. Needs a build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../fleet/exec.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { waitFor } from '../helpers/tmux.js';
import { freshHome, runBounded } from './harness.js';
import { stringMatching } from '../helpers/matchers.js';

/** True while `pid` exists (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A script that starts `sleep 3600` in the background (holding stdout/stderr), writes its pid to `pidFile`, and never answers. */
function silentScript(dir: string, pidFile: string): string {
  const file = path.join(dir, 'silent-codex');
  fs.writeFileSync(file, `#!/bin/sh\nsleep 3600 &\necho $! > '${pidFile}'\nexec sleep 3600\n`, { mode: 0o755 });
  return file;
}

describe('faults: subprocess bounds end the whole process group', () => {
  const homes: string[] = [];
  const leftovers: number[] = [];
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });

  it('hooks install with a codex app-server that never answers and leaves a child: returns after its bound, the child is gone', async () => {
    const { home, env } = freshHome('mt-fault-pgrp-');
    homes.push(home);
    writeHomeRoster(home, null, [{ name: 'cx1', runtime: 'codex', class: 'coder' }]);
    const pidFile = path.join(home, 'child.pid');
    const r = await runBounded(
      ['--mosaic-home', home, 'hooks', 'install', 'cx1'],
      { ...env, HOME: home, MOSAIC_CODEX_BIN: silentScript(home, pidFile) },
      40_000,
    );
    const child = Number(fs.readFileSync(pidFile, 'utf8').trim());
    leftovers.push(child);
    expect(r.killed, `hooks install did not return within 40 s; stdout: ${r.stdout}`).toBe(false);
    expect(r.stdout).toMatch(/codex trust: codex app-server gave no hooks\/list answer within 15000 ms/);
    await waitFor(() => !alive(child), 'the child codex left behind is killed', { timeoutMs: 5000, intervalMs: 50 });
  });

  it('runCommand at its deadline kills the group and settles though a grandchild holds the pipes', async () => {
    const { home } = freshHome('mt-fault-pgrp-');
    homes.push(home);
    const pidFile = path.join(home, 'child.pid');
    const r = await runCommand(silentScript(home, pidFile), [], { timeoutMs: 500 });
    const child = Number(fs.readFileSync(pidFile, 'utf8').trim());
    leftovers.push(child);
    expect(r).toMatchObject({ ok: false, error: stringMatching(/timed out after 500 ms$/) });
    await waitFor(() => !alive(child), 'the grandchild is killed with its group', { timeoutMs: 5000, intervalMs: 50 });
  });
});
