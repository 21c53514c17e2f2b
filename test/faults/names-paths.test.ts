/**
 * Faults: names and paths an operator's roster allows. An agent named `x@y+z-1` has the unit
 * `mosaic-agent@x\x40y\x2bz\x2d1.service` (systemd's own escaping, compared with the real
 * `systemd-escape`) in what the snapshot asks systemctl and joins; `hooks install` for an agent
 * whose `working_directory` does not exist refuses with the reason and creates nothing; a
 * relative `working_directory` is resolved against the Mosaic home, not the caller's cwd.
 * Needs a build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentUnitName } from '../../fleet/systemd.js';
import { BIN } from '../helpers/bin.js';
import { freshHome, runBounded } from './harness.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';

/** A roster of one claude agent with `extra` lines under it. */
function writeRoster(home: string, name: string, extra: string[] = []): void {
  const lines = ['version: 1', 'transport: tmux', 'agents:', `  - name: ${name}`, '    runtime: claude', ...extra.map((l) => `    ${l}`), ''];
  fs.mkdirSync(path.join(home, 'fleet', 'run'), { recursive: true });
  fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), lines.join('\n'));
}

describe('faults: agent names and working directories', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome('mt-fault-names-');
    dirs.push(h.home);
    return h;
  };

  it('unit names are escaped exactly as systemd-escape --template does', () => {
    for (const name of ['x@y+z-1', 'coder1', 'a_b', 'A-1+2@h']) {
      const want = execFileSync('systemd-escape', ['--template=mosaic-agent@.service', name], { encoding: 'utf8' }).trim();
      expect(agentUnitName(name)).toBe(want);
    }
  });

  it('the snapshot asks systemd for the escaped unit of x@y+z-1 and joins its state to the row', async () => {
    const { home: h, env } = home();
    writeRoster(h, 'x@y+z-1');
    const fixture = path.join(h, 'systemctl.txt');
    const log = path.join(h, 'systemctl.log');
    fs.writeFileSync(fixture, 'mosaic-agent@x\\x40y\\x2bz\\x2d1.service loaded active running enabled 4242\n');
    const r = await runBounded(['--mosaic-home', h, '--once', '--json'], {
      ...env,
      MT_SYSTEMCTL_MODE: '',
      MT_SYSTEMCTL_FIXTURE: fixture,
      MT_SYSTEMCTL_LOG: log,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toContain('mosaic-agent@x\\x40y\\x2bz\\x2d1.service');
    const row = readJson<Snapshot>(r.stdout).agents.find((a: { name: string }) => a.name === 'x@y+z-1');
    expect(row?.unit).toMatchObject({ name: 'mosaic-agent@x\\x40y\\x2bz\\x2d1.service', activeState: 'active', mainPid: 4242 });
  });

  it('hooks install: a working_directory that does not exist is refused with the reason, nothing created', async () => {
    const { home: h, env } = home();
    const missing = path.join(h, 'work', 'not', 'there');
    writeRoster(h, 'cc1', [`working_directory: ${missing}`]);
    const r = await runBounded(['--mosaic-home', h, 'hooks', 'install', 'cc1'], { ...env, HOME: h });
    expect(r.killed).toBe(false);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toContain(`cc1: refused: working_directory ${missing} does not exist`);
    expect(fs.existsSync(path.join(h, 'work'))).toBe(false);
  });

  it('hooks install: a relative working_directory is resolved against the Mosaic home, not the cwd', async () => {
    const { home: h, env } = home();
    fs.mkdirSync(path.join(h, 'agents-work', 'cc1'), { recursive: true });
    writeRoster(h, 'cc1', ['working_directory: agents-work/cc1']);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fault-cwd-'));
    dirs.push(cwd);
    fs.mkdirSync(path.join(cwd, 'agents-work', 'cc1'), { recursive: true });
    const r = spawnSync(process.execPath, [BIN, '--mosaic-home', h, 'hooks', 'install', 'cc1'], {
      cwd,
      env: { ...env, HOME: h },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(h, 'agents-work', 'cc1', '.claude', 'settings.json'))).toBe(true);
    expect(fs.existsSync(path.join(cwd, 'agents-work', 'cc1', '.claude'))).toBe(false);
  });
});
