/**
 * Faults: causes are never lost. A disk that fills while the embedded server initialises names
 * ENOSPC (never `[object Object]`) in the server's log and in the client's one line, and the
 * client does not restart a server a full disk stops; a read-only fleet dir makes `send` name
 * EROFS and the path, not a concurrent sender; PGlite's errno objects and WebAssembly aborts
 * become causes an operator can act on (lib/errors.ts messageOf). Mounts run in a private
 * mount namespace (`unshare -m`, root: skipped only when not root and not under CI). Needs a build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeCause, messageOf } from '../../lib/errors.js';
import { BIN } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { freshHome, rootOnlySkip, type BoundedRun } from './harness.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `script` (sh) in a private mount namespace; a run that overstays `boundMs` is killed. */
function inMountNamespace(script: string, env: NodeJS.ProcessEnv, boundMs = 60_000): BoundedRun {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { env, encoding: 'utf8', timeout: boundMs, killSignal: 'SIGKILL' });
  expect(r.status, r.stderr).not.toBe(99);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, killed: r.error !== undefined };
}

describe('faults: every error names its cause', () => {
  let tmux: IsolatedTmux;
  const homes: string[] = [];
  beforeAll(async () => {
    tmux = await startIsolatedTmux('fault-causes');
    await tmux.newSession('e2', ['sleep', '3600']);
  });
  afterAll(async () => {
    await tmux?.stop();
  });
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome();
    homes.push(h.home);
    return h;
  };

  it('PGlite errno objects and WebAssembly aborts become causes; messageOf keeps errno and path', () => {
    expect(describeCause({ name: 'ErrnoError', errno: 51 })).toBe('no space left on device (ENOSPC)');
    expect(describeCause({ name: 'ErrnoError', errno: 69 })).toBe('read-only file system (EROFS)');
    expect(describeCause({ name: 'ErrnoError', errno: 9999 })).toMatch(/file system error \(errno 9999/);
    expect(describeCause(Object.assign(new Error('Aborted(). Build with -sASSERTIONS for more info.'), { name: 'RuntimeError' }))).toMatch(
      /^the PGlite database engine aborted .*full disk or a read-only data dir/,
    );
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write '/x/y'"), { code: 'ENOSPC', syscall: 'write', path: '/x/y' });
    expect(messageOf(enospc, 'the history')).toBe('the history: no space left on device (ENOSPC, write /x/y)');
    expect(messageOf(enospc, '/x/y')).toBe('no space left on device (ENOSPC, write /x/y)');
    expect(messageOf({ name: 'ErrnoError', errno: 51 }, 'backlog server for data dir /d')).toBe(
      'backlog server for data dir /d: no space left on device (ENOSPC)',
    );
  });

  it('a disk that fills while the server initialises: ENOSPC in the log and in one client line, one start only', () => {
    if (rootOnlySkip()) return;
    const { home: h, env } = home();
    const fleet = path.join(h, 'fleet');
    fs.mkdirSync(fleet, { recursive: true });
    // 6 MB: the log and the lock fit, initdb's catalog does not.
    const script = [
      `mount -t tmpfs -o size=6m,mode=0700 tmpfs ${q(fleet)} || exit 99`,
      `${q(process.execPath)} ${q(BIN)} --mosaic-home ${q(h)} backlog create --id A1 --title 'card body text'`,
      'rc=$?',
      `cat ${q(path.join(fleet, 'run', 'backlog-server.log'))} >&2`,
      // A server still running holds this namespace (and its tmpfs): ended by the pid its lock names.
      `pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' ${q(path.join(fleet, 'backlog', 'mosaic-top.lock'))} 2>/dev/null); [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null`,
      'exit $rc',
    ].join('\n');
    // The store template off: initdb itself meets the full disk (a template copy is tested in stores' own tests).
    const r = inMountNamespace(script, { ...env, MOSAIC_BACKLOG_IDLE_EXIT: '5', MOSAIC_TOP_STORE_TEMPLATES: 'off' }, 120_000);
    expect(r.killed, r.stderr).toBe(false);
    expect(r.stderr).not.toContain('[object Object]');
    const lines = r.stderr.split('\n').filter(Boolean);
    const clientLine = lines.find((l) => l.startsWith('mosaic-top backlog: '));
    expect(clientLine, r.stderr).toMatch(/^mosaic-top backlog: backlog server failed to start: .*backlog-server\.log: .*no space left on device \(ENOSPC/);
    // The log says which data dir, and a full disk is not retried three times.
    expect(lines.filter((l) => /^mosaic-top backlog serve: backlog server for data dir .*: no space left on device \(ENOSPC/.test(l))).toHaveLength(1);
    expect(r.stderr).not.toContain('card body text');
    expect(r.code).toBe(1);
  });

  for (const where of ['run', 'fleet'] as const) {
    it(`a read-only ${where} dir: send names EROFS and the path, not "another send is still typing"`, () => {
      if (rootOnlySkip()) return;
      const { home: h, env } = home();
      writeHomeRoster(h, tmux.socket, [{ name: 'e2', runtime: 'sleep', class: 'coder' }]);
      const fleet = path.join(h, 'fleet');
      const mountPoint = where === 'run' ? path.join(fleet, 'run') : fleet;
      // The fleet dir case: the roster is copied onto the tmpfs before it turns read-only (no run dir there).
      const stage = path.join(h, 'stage.yaml');
      fs.copyFileSync(path.join(fleet, 'roster.yaml'), stage);
      const script = [
        `mount -t tmpfs -o size=1m,mode=0700 tmpfs ${q(mountPoint)} || exit 99`,
        where === 'fleet' ? `cp ${q(stage)} ${q(path.join(fleet, 'roster.yaml'))}` : ':',
        `mount -o remount,ro ${q(mountPoint)} || exit 99`,
        `exec ${q(process.execPath)} ${q(BIN)} --mosaic-home ${q(h)} send e2 hello`,
      ].join('\n');
      const r = inMountNamespace(script, env);
      // A refused send prints its receipt (one line) on stdout, exit 3 (refused, nothing sent).
      expect(r.killed, r.stderr).toBe(false);
      expect(r.stdout).not.toContain('still typing');
      expect(r.stdout.trim().split('\n'), r.stdout + r.stderr).toEqual([
        `refused for e2: cannot take the send lock of e2: read-only file system (EROFS, mkdir ${path.join(fleet, 'run', where === 'run' ? 'locks' : '')}); nothing sent`.replace(
          '/)',
          ')',
        ),
      ]);
      expect(r.code, r.stderr).toBe(3);
    });
  }
});
