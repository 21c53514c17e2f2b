/**
 * Lifecycle actions on an agent of ANOTHER host, end-to-end: the real ssh client through a
 * throwaway sshd on 127.0.0.1 (test/helpers/sshd.ts) whose sessions reach a REAL
 * `systemd --user` (test/helpers/systemd.ts) — so `mosaic-top restart <agent>` runs
 * `systemctl --user restart mosaic-agent@<agent>.service` over the agent's ssh connection and
 * waits for the new pane seen over ssh. The real program (`node bin/mosaic-top`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleResult } from '../../src/actions/lifecycle.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { sshdUnavailableReason, startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { realSystemdUnavailableReason, startTestSystemd, type TestSystemd } from '../helpers/systemd.js';
import { isolatedSocketName } from '../helpers/tmux.js';
import { realPartAvailable } from '../helpers/real-parts.js';

const available = realPartAvailable('a real systemd --user and sshd', realSystemdUnavailableReason() ?? sshdUnavailableReason(), 'lifecycle-remote.test.ts');

describe.runIf(available)('lifecycle actions over ssh on a real systemd --user', () => {
  let sd: TestSystemd;
  let sshd: TestSshd;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const socket = isolatedSocketName('rlife');
  const cli = (args: string[]): Promise<BinResult> => runBin([...args, '--mosaic-home', home], env, 120_000);
  const panePid = (agent: string): number =>
    Number(execFileSync('tmux', ['-L', socket, 'display-message', '-p', '-t', `=${agent}:0.0`, '#{pane_pid}'], { encoding: 'utf8' }).trim());

  beforeAll(async () => {
    sd = await startTestSystemd('rlife', socket);
    console.info(`lifecycle-remote.test.ts uses ${sd.description}`);
    await sd.installFleetUnits();
    const managerEnv = sd.env({});
    sshd = await startTestSshd({
      remoteEnv: {
        XDG_RUNTIME_DIR: managerEnv.XDG_RUNTIME_DIR!,
        XDG_CONFIG_HOME: managerEnv.XDG_CONFIG_HOME!,
        // The real systemctl, not the fixture the sshd sessions get by default.
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      },
    });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rlife-'));
    // This host's own systemd is never asked for a remote agent: leave the local user bus out.
    env = sshd.env({ ...process.env, XDG_CACHE_HOME: path.join(home, 'cache'), MOSAIC_LINGER_DIR: path.join(home, 'no-linger-dir') });
    delete env.XDG_RUNTIME_DIR;
    writeHomeRoster(home, socket, [{ name: 'far', runtime: 'sh', host: 'mt-remote', ssh: 'mt-remote' }]);
    expect((await sd.systemctl(['start', 'mosaic-agent@far.service'])).code).toBe(0);
  });

  afterAll(async () => {
    await sshd?.stop(home ? [path.join(home, 'fleet', 'run')] : []);
    await sd?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("the remote row carries its host's unit and NEEDS-RESTART; restart over ssh brings a new pane", async () => {
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', '=far']);
    const s = JSON.parse((await cli(['--once', '--json'])).stdout) as Snapshot;
    const far = s.agents.find((a) => a.name === 'far')!;
    expect(far).toMatchObject({ ssh: 'mt-remote', readiness: 'dead', unit: { activeState: 'active', subState: 'exited' } });
    expect(far.flags).toContain('NEEDS-RESTART');

    const r = await cli(['restart', 'far', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as LifecycleResult;
    expect(result).toMatchObject({ ok: true, outcome: 'done', host: 'mt-remote', after: { activeState: 'active', paneDead: false } });
    expect(result.evidence.join('\n')).toContain('systemctl --user restart mosaic-agent@far.service at host mt-remote: exit 0');
    expect(result.evidence).toContain('NEEDS-RESTART cleared');
    expect(result.after!.panePid).toBe(panePid('far'));

    const stop = JSON.parse((await cli(['stop', 'far', '--json'])).stdout) as LifecycleResult;
    expect(stop).toMatchObject({ outcome: 'done', after: { activeState: 'inactive', paneDead: null } });
    expect((await sd.show('mosaic-agent@far.service')).ActiveState).toBe('inactive');
  });
});
