/**
 * Faults: every CLI error is one line with its documented exit code, no stack
 * trace unless MOSAIC_DEBUG=1, no temp file left. `PAUSED` a directory; the run dir (and the
 * whole fleet dir) on a full 1 MB tmpfs, mounted in a private mount namespace (`unshare -m`,
 * root only: skipped only when not root and not under CI); an unexpected error. Needs a build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { expectOneLineError, freshHome, rootOnlySkip, runBounded, type BoundedRun } from './harness.js';

/**
 * Runs `node bin/mosaic-top …args` in a private mount namespace where `mountPoint` is a full
 * 1 MB tmpfs; returns the run and the names left in `mountPoint` afterwards.
 */
function onFullTmpfs(mountPoint: string, args: string[], env: NodeJS.ProcessEnv): { run: BoundedRun; left: string[] } {
  fs.mkdirSync(mountPoint, { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `mount -t tmpfs -o size=1m,mode=0700 tmpfs ${q(mountPoint)} || exit 99`,
    `head -c 2000000 /dev/zero > ${q(path.join(mountPoint, 'fill'))} 2>/dev/null`,
    `${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}`,
    'rc=$?',
    `ls -A ${q(mountPoint)} >&3`,
    'exit $rc',
  ].join('\n');
  const lsFile = path.join(path.dirname(mountPoint), `.ls-${process.pid}`);
  const fd = fs.openSync(lsFile, 'w');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { env, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe', fd] });
  fs.closeSync(fd);
  const left = fs.readFileSync(lsFile, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(lsFile, { force: true });
  expect(r.status, r.stderr).not.toBe(99);
  return { run: { code: r.status, stdout: r.stdout, stderr: r.stderr, killed: r.error !== undefined }, left };
}

describe('faults: one-line errors, exit codes, no stack traces (real program)', () => {
  const homes: string[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome();
    homes.push(h.home);
    return h;
  };

  it('PAUSED is a directory: pause, pause --force and resume say so in one line, exit 1, and leave no temp file', async () => {
    const { home: h, env } = home();
    const run = path.join(h, 'fleet', 'run');
    fs.mkdirSync(path.join(run, 'PAUSED'), { recursive: true });
    for (const args of [['pause', '--reason', 'x'], ['pause', '--force'], ['resume']]) {
      const r = await runBounded(['--mosaic-home', h, ...args], env);
      expectOneLineError(r, 1, new RegExp(`^mosaic-top: ${args[0]} failed: ${path.join(run, 'PAUSED')} is a directory, not a flag file; .*remove it by hand`));
    }
    expect(fs.readdirSync(run)).toEqual(['PAUSED']);
    expect(fs.statSync(path.join(run, 'PAUSED')).isDirectory()).toBe(true);
  });

  it('pause and heartbeat on a full disk: one line naming ENOSPC, exit 1, no temp file left', () => {
    if (rootOnlySkip()) return;
    const { home: h, env } = home();
    const run = path.join(h, 'fleet', 'run');
    const pause = onFullTmpfs(run, ['--mosaic-home', h, 'pause', '--reason', 'disk test'], env);
    expectOneLineError(pause.run, 1, /^mosaic-top: pause failed: cannot write .*PAUSED: no space left on device \(ENOSPC.*the fleet is NOT paused/);
    expect(pause.left).toEqual(['fill']);
    const beat = onFullTmpfs(run, ['--mosaic-home', h, 'heartbeat', 'coder1', '--state', 'busy'], env);
    expectOneLineError(beat.run, 1, /^mosaic-top heartbeat: cannot write the heartbeat of coder1 in .*: no space left on device \(ENOSPC/);
    expect(beat.left).toEqual(['fill']);
  });

  it('a backlog on a full disk: the server cannot start and the one error line says why and where to look', () => {
    if (rootOnlySkip()) return;
    const { home: h, env } = home();
    const fleet = path.join(h, 'fleet');
    const r = onFullTmpfs(fleet, ['--mosaic-home', h, 'backlog', 'create', '--id', 'A1', '--title', 'card body text'], {
      ...env,
      MOSAIC_BACKLOG_IDLE_EXIT: '5',
    });
    // The progress note of a first run, then the one error line.
    const errors = r.run.stderr.split('\n').filter((l) => l && !l.includes('creating backlog data dir'));
    expectOneLineError({ ...r.run, stderr: errors.join('\n') }, 1, /backlog server failed to start 3 times: .*backlog-server\.log is empty \(a full disk\?/);
    expect(r.left.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(r.run.stderr).not.toContain('card body text');
  });

  it('an unexpected error is one line with exit 70; MOSAIC_DEBUG=1 adds the stack trace', () => {
    const { home: h, env } = home();
    // `send <agent> -` reads the message from stdin: here stdin is a directory (EISDIR).
    const run = (extra: NodeJS.ProcessEnv) => {
      const dirFd = fs.openSync(h, 'r');
      try {
        return spawnSync(process.execPath, [BIN, '--mosaic-home', h, 'send', 'coder1', '-'], {
          env: { ...env, ...extra },
          encoding: 'utf8',
          timeout: 30_000,
          stdio: [dirFd, 'pipe', 'pipe'],
        });
      } finally {
        fs.closeSync(dirFd);
      }
    };
    const plain = run({});
    expectOneLineError(
      { code: plain.status, stdout: plain.stdout, stderr: plain.stderr, killed: plain.error !== undefined },
      70,
      /^mosaic-top: unexpected error: is a directory \(EISDIR.*\); rerun with MOSAIC_DEBUG=1 for the stack trace$/,
    );
    const debug = run({ MOSAIC_DEBUG: '1' });
    expect(debug.status).toBe(70);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });
});
