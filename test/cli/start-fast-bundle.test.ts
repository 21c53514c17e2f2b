/**
 * The shipped bundle (scripts/bundle.mjs, rolldown, `npm run build`): built into a throwaway copy of the
 * package (its bin, package.json, the repo's node_modules linked), so what the bin loads is the
 * bundle and nothing of tsc's output. Each verb still loads only its own chunk and none of the
 * console's or the store's packages; errors stay one line, and `MOSAIC_DEBUG=1` stacks name the
 * TypeScript sources (source maps).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/version.js';
import { writeHomeRoster } from '../helpers/roster.js';

const HOOK = `import { register } from 'node:module';
import fs from 'node:fs';
fs.writeFileSync(process.env.MT_MODULES_OUT, '');
register('data:text/javascript,' + encodeURIComponent("export async function load(u, c, n) { if (u.startsWith('file:')) (await import('node:fs')).appendFileSync(process.env.MT_MODULES_OUT, u + '\\\\n'); return n(u, c); }"));
`;

const HEAVY = /\/node_modules\/(ink|react|react-reconciler|@electric-sql|drizzle-orm|postgres|yoga-layout|zustand)\//;

describe('the bundle: fewer files per start, each verb its own chunk', () => {
  const repo = packageRoot();
  let dir = '';
  let pkg = '';
  let home = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bundle-'));
    pkg = path.join(dir, 'pkg');
    home = path.join(dir, 'home');
    fs.mkdirSync(pkg, { recursive: true });
    fs.copyFileSync(path.join(repo, 'package.json'), path.join(pkg, 'package.json'));
    // bin/ whole: its package.json makes the executable CommonJS.
    fs.cpSync(path.join(repo, 'bin'), path.join(pkg, 'bin'), { recursive: true });
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(pkg, 'node_modules'));
    execFileSync(process.execPath, [path.join(repo, 'scripts', 'bundle.mjs'), path.join(pkg, 'dist', 'bundle')], { stdio: 'pipe' });
    writeHomeRoster(home, `mt-bundle-none-${process.pid}`, [{ name: 'a1', runtime: 'sleep' }]);
    fs.writeFileSync(path.join(dir, 'hook.mjs'), HOOK);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the copy's bin with `args`; `stdin`: a file descriptor for its stdin. */
  function run(args: string[], env: NodeJS.ProcessEnv = {}, stdin?: number) {
    return spawnSync(process.execPath, [path.join(pkg, 'bin', 'mosaic-top'), ...args], {
      env: { ...process.env, MOSAIC_HOME: home, XDG_CACHE_HOME: path.join(dir, 'cache'), MOSAIC_DEBUG: '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
      stdio: [stdin ?? 'ignore', 'pipe', 'pipe'],
    });
  }

  /** The module files `mosaic-top …args` loaded (the copy's own as paths relative to it). */
  function modulesOf(args: string[]): { ours: string[]; heavy: string[]; all: string[] } {
    const out = path.join(dir, 'modules.txt');
    const r = run(args, { MT_MODULES_OUT: out, NODE_OPTIONS: `--import=${pathToFileURL(path.join(dir, 'hook.mjs')).href}` });
    expect(r.stderr).not.toMatch(/cannot start|Error:/);
    const all = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    const prefix = pathToFileURL(pkg).href + '/';
    const ours = all.filter((u) => u.startsWith(prefix) && !u.includes('/node_modules/')).map((u) => u.slice(prefix.length));
    return { ours, heavy: all.filter((u) => HEAVY.test(u)), all };
  }

  it('--once --json loads the bundle, no command chunk and no console or store package', () => {
    const once = modulesOf(['--once', '--json']);
    expect(once.ours[0]).toBe('bin/mosaic-top');
    expect(once.ours).toContain('dist/bundle/cli.js');
    expect(once.ours.every((f) => f === 'bin/mosaic-top' || f.startsWith('dist/bundle/'))).toBe(true);
    // The snapshot's modules are one manual chunk group (scripts/bundle.mjs): --once loads the
    // bin, cli.js and a handful of chunks (tsc's build ~55 files of ours, plus ~65 CommonJS
    // files of commander and semver, which the bundle holds; automatic splitting alone ~48).
    expect(once.ours.length).toBeLessThanOrEqual(6);
    expect(once.all.filter((u) => /\/node_modules\/(commander|semver)\//.test(u))).toEqual([]);
    expect(once.ours.filter((f) => /chunks\/(actions|backlog|lifecycle|events|serve|doctor|demo|hooks|heartbeat)-/.test(f))).toEqual([]);
    expect(once.heavy).toEqual([]);
  });

  it('a verb loads its own command chunk, not the others', () => {
    const send = modulesOf(['send', '--help']);
    expect(send.ours.filter((f) => /chunks\/actions-/.test(f))).toHaveLength(1);
    expect(send.ours.filter((f) => /chunks\/(backlog|lifecycle|serve|doctor|spend|demo)-/.test(f))).toEqual([]);
    expect(send.heavy).toEqual([]);
    const events = modulesOf(['events']);
    expect(events.heavy).toEqual([]);
    expect(events.ours.filter((f) => /chunks\/events-/.test(f)).length).toBeGreaterThan(0);
  });

  it('an unexpected error is one line; MOSAIC_DEBUG=1 adds a stack that names the TypeScript sources', () => {
    const withDirStdin = (env: NodeJS.ProcessEnv) => {
      const fd = fs.openSync(home, 'r');
      try {
        return run(['send', 'a1', '-'], env, fd);
      } finally {
        fs.closeSync(fd);
      }
    };
    const plain = withDirStdin({});
    expect(plain.status).toBe(70);
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^mosaic-top: unexpected error: is a directory \(EISDIR/);
    const debug = withDirStdin({ MOSAIC_DEBUG: '1' });
    expect(debug.status).toBe(70);
    expect(debug.stderr).toMatch(/^\s+at .*\/src\/[\w/-]+\.ts:\d+:\d+/m);
    expect(debug.stderr).not.toMatch(/dist\/bundle/);
  });

  it('a missing build is one line naming the file it could not load', () => {
    fs.renameSync(path.join(pkg, 'dist'), path.join(pkg, 'dist-away'));
    try {
      const r = run(['--once', '--json']);
      expect(r.status).toBe(70);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^mosaic-top: cannot start: .*dist\/bundle\/cli\.js/);
    } finally {
      fs.renameSync(path.join(pkg, 'dist-away'), path.join(pkg, 'dist'));
    }
  });
});
