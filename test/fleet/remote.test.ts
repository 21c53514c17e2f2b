/**
 * Agents on other hosts, with real parts: a throwaway sshd on 127.0.0.1 (test/helpers/sshd.ts),
 * a real isolated tmux server as the "remote" socket, real heartbeat files in the remote Mosaic
 * home (sshd `SetEnv MOSAIC_HOME=…`), the real ssh client through `MOSAIC_SSH_CONFIG=<config>`.
 * Locally the file is skipped only when sshd cannot run here; with CI=true it must run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { subprocessCount } from '../../fleet/exec.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { remoteProbeScript } from '../../fleet/remote-probe.js';
import { parseRemoteProbeOutput } from '../../fleet/remote-probe-output.js';
import { isValidSshTarget, MAX_CONTROL_PATH_BYTES, shellQuote, sshCommand, sshControlArgs, sshFailureReason, sshTimeoutMs } from '../../fleet/ssh.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { agentRow } from '../fixtures/snapshots.js';
import { runBin } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestSshd, sshdUnavailableReason, type TestSshd } from '../helpers/sshd.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeTestRoster, type TestAgentDef } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import { readJson } from '../helpers/json.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import type { DispatchResult } from '../../src/actions/dispatch.js';
import type { Card } from '../../backlog/types.js';
import { realPartAvailable } from '../helpers/real-parts.js';
import { must } from '../helpers/must.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE_BIN = path.join(ROOT, 'test', 'fixtures', 'bin');
const HAS_SSHD = realPartAvailable('sshd (agents on other hosts)', sshdUnavailableReason(), 'remote.test.ts');

function writeRoster(paths: MosaicPaths, socket: string, agents: TestAgentDef[]): void {
  writeTestRoster(paths.roster, paths.runDir, socket, agents);
}

const row = agentRow;

const validator = snapshotValidator;

describe('remote probe: pure parts', () => {
  it('MOSAIC_SSH is the program (never split), MOSAIC_SSH_CONFIG an ssh_config passed as -F', () => {
    expect(sshCommand({})).toEqual({ file: 'ssh', args: [] });
    expect(sshCommand({ MOSAIC_SSH: '/opt/my ssh', MOSAIC_SSH_CONFIG: '/x y/cfg' })).toEqual({ file: '/opt/my ssh', args: ['-F', '/x y/cfg'] });
    expect(sshCommand({ MOSAIC_SSH: '  ', MOSAIC_SSH_CONFIG: '' })).toEqual({ file: 'ssh', args: [] });
  });

  it('MOSAIC_SSH_TIMEOUT (seconds) bounds a remote probe and sets ConnectTimeout; a host that never answers is unknown', async () => {
    expect(sshTimeoutMs({})).toBe(5000);
    expect(sshTimeoutMs({ MOSAIC_SSH_TIMEOUT: '12.5' })).toBe(12_500);
    for (const bad of ['0', '-3', 'soon', '']) expect(sshTimeoutMs({ MOSAIC_SSH_TIMEOUT: bad })).toBe(5000);
    // An "ssh" that records its arguments and never answers.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-ssh-slow-'));
    try {
      const paths = resolvePaths({ mosaicHome: home }, {});
      const argsLog = path.join(home, 'ssh-args');
      const slowSsh = path.join(home, 'slow-ssh');
      fs.writeFileSync(slowSsh, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsLog}'\nexec sleep 30\n`, { mode: 0o755 });
      // A local socket name with no server (never the default server).
      writeTestRoster(paths.roster, paths.runDir, `mt-ssh-slow-${process.pid}`, [{ name: 'far', runtime: 'sleep', host: 'gpu9', ssh: 'gpu9' }]);
      const s = await collectSnapshot({ paths, includeBacklog: false, sshEnv: { ...process.env, MOSAIC_SSH: slowSsh, MOSAIC_SSH_TIMEOUT: '1' } });
      expect(row(s, 'far')).toMatchObject({ readiness: 'unknown', evidence: ['ssh gpu9: timed out after 1000 ms'] });
      expect(fs.readFileSync(argsLog, 'utf8').split('\n')).toContain('ConnectTimeout=1');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('targets that ssh would read as options or that carry blanks/controls are refused', () => {
    expect(isValidSshTarget('user@10.1.10.37')).toBe(true);
    expect(isValidSshTarget('ssh://u@h:2222')).toBe(true);
    for (const bad of ['-oProxyCommand=touch /tmp/x', 'a b', 'a\nb', '']) expect(isValidSshTarget(bad)).toBe(false);
  });

  it('ControlPath: used in an existing short run dir, dropped when the socket path would be too long', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-cp-'));
    try {
      expect(sshControlArgs(dir)).toEqual(['-o', 'ControlMaster=auto', '-o', `ControlPath=${dir}/ssh-%C`, '-o', 'ControlPersist=60']);
      const long = path.join(dir, 'x'.repeat(MAX_CONTROL_PATH_BYTES - dir.length));
      fs.mkdirSync(long);
      expect(sshControlArgs(long)).toEqual([]);
      expect(sshControlArgs(path.join(dir, 'missing'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hostile socket names are single-quoted: the script runs nothing they contain', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-quote-'));
    const canary = path.join(dir, 'pwned');
    try {
      const socket = `x'; touch ${canary}; echo '$(touch ${canary})`;
      expect(shellQuote("it's")).toBe(`'it'\\''s'`);
      const script = remoteProbeScript('n0nce', { sockets: [socket], agents: ['a1', 'bad name'], processes: false });
      // The fixture systemctl: the script's systemd section never asks this machine's systemd.
      const r = spawnSync('sh', ['-s'], {
        input: script,
        env: { ...process.env, PATH: `${FIXTURE_BIN}:${process.env.PATH}`, MOSAIC_HOME: dir },
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(fs.existsSync(canary)).toBe(false);
      const parsed = parseRemoteProbeOutput(r.stdout, 'n0nce', { sockets: [socket], agents: ['a1'] }, 'h', Date.now() / 1000);
      expect('error' in parsed).toBe(false);
      if ('error' in parsed) return;
      expect(parsed.tmux.get(socket)).toMatchObject({ ok: true, serverRunning: false, panes: [] });
      expect(parsed.heartbeats.get('a1')).toEqual({ heartbeat: null, error: null });
      expect(script).not.toContain('bad name');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the remote systemd section: units when systemctl answered; unavailable with systemctl's reason (no bus, not installed)", () => {
    const req = { sockets: [], agents: ['a1'] };
    const hex = (t: string) => Buffer.from(t).toString('hex');
    const answer = (body: string[], end: string) => ['@@mt-n begin 1', '@@mt-n systemd', ...body, `@@mt-n systemd-end ${end}`, '@@mt-n end'].join('\n');
    const ok = parseRemoteProbeOutput(
      answer(['Id=mosaic-agent@a1.service', 'LoadState=loaded', 'ActiveState=active', 'SubState=running', 'UnitFileState=disabled', 'MainPID=77', ''], '0 '),
      'n',
      req,
      'h',
      0,
    );
    expect('error' in ok ? null : ok.systemd).toMatchObject({ available: true, error: null });
    expect('error' in ok ? null : ok.systemd?.units.get('mosaic-agent@a1.service')).toMatchObject({
      activeState: 'active',
      unitFileState: 'disabled',
      mainPid: 77,
    });
    const nobus = parseRemoteProbeOutput(answer([], `1 ${hex('Failed to connect to bus: No medium found\n')}`), 'n', req, 'h', 0);
    expect('error' in nobus ? null : nobus.systemd).toMatchObject({
      available: false,
      error: 'systemd unavailable: Failed to connect to bus: No medium found',
    });
    const missing = parseRemoteProbeOutput(answer([], `127 ${hex('sh: 1: systemctl: not found\n')}`), 'n', req, 'h', 0);
    expect('error' in missing ? null : missing.systemd).toMatchObject({ available: false, error: 'systemd unavailable: no systemctl on PATH' });
    // Not asked ⇒ no section ⇒ null.
    expect(remoteProbeScript('n', { ...req, systemd: false })).not.toContain('systemctl');
    const none = parseRemoteProbeOutput(['@@mt-n begin 1', '@@mt-n end'].join('\n'), 'n', req, 'h', 0);
    expect('error' in none ? null : none.systemd).toBeNull();
  });

  it('forged markers in untrusted output are data, and an answer without its end marker is refused', () => {
    const req = { sockets: ['s'], agents: ['a1'] };
    const out = ['@@mt-abc begin 1', '@@mt-abc tmux 0', '@@mt-zzz end', '@@mt-abc tmux-end 0 0 ', '@@mt-abc hb a1 missing'].join('\n');
    expect(parseRemoteProbeOutput(out, 'abc', req, 'h', 0)).toEqual({ error: 'remote probe output incomplete' });
    expect(parseRemoteProbeOutput('Welcome!\n', 'abc', req, 'h', 0)).toEqual({ error: 'no answer from the remote probe script' });
    expect(sshFailureReason('Warning: Permanently added x\nroot@127.0.0.1: Permission denied (publickey).\n', 'x')).toBe('Permission denied (publickey).');
    expect(sshFailureReason('ssh: connect to host h port 1: Connection refused\u001b[2J\n', 'x')).toBe('connect to host h port 1: Connection refused?[2J');
  });
});

describe.runIf(HAS_SSHD)('agents on other hosts (real sshd, real tmux)', () => {
  let sshd: TestSshd;
  let local: IsolatedTmux;
  let remote: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;
  /** The test's database on the run's PostgreSQL cluster, when it made one. */
  let db: TestDatabase | null = null;
  const nowS = () => Math.floor(Date.now() / 1000);
  const remoteRun = () => path.join(sshd.remoteHome, 'fleet', 'run');
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    sshd = await startTestSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    local = await startIsolatedTmux('rlocal');
    remote = await startIsolatedTmux('rremote');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rem-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    for (const d of ['run', 'agents']) {
      fs.rmSync(path.join(sshd.remoteHome, 'fleet', d), { recursive: true, force: true });
      fs.mkdirSync(path.join(sshd.remoteHome, 'fleet', d), { recursive: true });
    }
    fs.writeFileSync(sshd.remoteSystemctlFixture, '');
    process.env.PATH = `${FIXTURE_BIN}:${savedEnv.PATH}`;
    process.env.MT_SYSTEMCTL_MODE = 'nobus';
    process.env.XDG_CACHE_HOME = path.join(home, 'cache');
  });
  afterEach(async () => {
    const { stopControlMasters } = await import('../helpers/sshd.js');
    stopControlMasters(paths.runDir, sshd.sshConfig);
    // A backlog server the embedded tier started (none on the server tier), then the database.
    const { stopEmbeddedServer } = await import('../../backlog/client.js');
    await stopEmbeddedServer(paths, 20_000);
    await db?.drop();
    db = null;
    await local.stop();
    await remote.stop();
    fs.rmSync(home, { recursive: true, force: true });
    for (const k of ['PATH', 'MT_SYSTEMCTL_MODE', 'XDG_CACHE_HOME']) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  const snap = () => collectSnapshot({ paths, includeBacklog: false, sshEnv: sshd.env(), probeTimeoutMs: 10_000 });

  it('remote working / available / stale / dead / unknown from real panes and real heartbeat files, DRIFT from the remote ps', async () => {
    const on = { host: 'gpu2', ssh: 'mt-remote', socket: remote.socket };
    writeRoster(paths, local.socket, [
      { name: 'here', runtime: 'sleep', class: 'orchestrator' },
      { name: 'rbusy', runtime: 'sleep', class: 'enhancer', ...on },
      { name: 'ridle', runtime: 'sleep', ...on },
      { name: 'rold', runtime: 'sleep', ...on },
      { name: 'rgone', runtime: 'sleep', ...on },
      { name: 'rdeadpane', runtime: 'sh', ...on },
      { name: 'rnobeat', runtime: 'sleep', ...on },
      { name: 'rdrift', runtime: 'pi', ...on },
      { name: 'renv', runtime: 'claude', ...on },
    ]);
    await local.newSession('here', ['sleep', '600']);
    for (const n of ['rbusy', 'ridle', 'rold', 'rnobeat', 'rdrift', 'renv']) await remote.newSession(n, ['sleep', '600']);
    await remote.newSession('rdeadpane', ['sh', '-c', 'exit 4'], { remainOnExit: true });
    await remote.newSession('rstray', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'here', { state: 'busy' });
    writeHeartbeat(remoteRun(), 'rbusy', { state: 'busy', card: 'R7', note: 'remote work' });
    writeHeartbeat(remoteRun(), 'ridle', { state: 'idle' });
    writeHeartbeat(remoteRun(), 'rold', { state: 'busy', ts: nowS() - 500 });
    writeHeartbeat(remoteRun(), 'rgone', { state: 'busy' });
    for (const n of ['rdrift', 'renv']) writeHeartbeat(remoteRun(), n, { state: 'idle' });
    fs.writeFileSync(path.join(sshd.remoteHome, 'fleet', 'agents', 'renv.env'), 'MOSAIC_AGENT_COMMAND=sleep 600\n');
    await waitFor(async () => (await remote.ok(['display-message', '-p', '-t', '=rdeadpane:0.0', '#{pane_dead}'])).trim() === '1', 'rdeadpane dead');
    // The remote user's systemd (asked in the same ssh run): rbusy's unit enabled, ridle's active
    // but not enabled ⇒ BOOT-ENABLE; the others have no unit there.
    fs.writeFileSync(
      sshd.remoteSystemctlFixture,
      'mosaic-agent@rbusy.service loaded active running enabled 4242\nmosaic-agent@ridle.service loaded active running disabled 4243\n',
    );

    const s = await snap();
    expect(s.probes['ssh:mt-remote']).toMatchObject({ ok: true, error: null });
    expect(s.probes['systemd:mt-remote']).toMatchObject({ ok: true, error: null });
    expect(row(s, 'rbusy').unit).toMatchObject({ name: 'mosaic-agent@rbusy.service', activeState: 'active', unitFileState: 'enabled', mainPid: 4242 });
    expect(row(s, 'ridle').flags).toEqual(['BOOT-ENABLE']);
    expect(row(s, 'rgone').unit).toMatchObject({ loadState: 'not-found' });
    expect(Object.fromEntries(s.agents.map((a) => [a.name, a.readiness]))).toEqual({
      here: 'working',
      rbusy: 'working',
      ridle: 'available',
      rold: 'stale',
      rgone: 'dead',
      rdeadpane: 'dead',
      rnobeat: 'unknown',
      rdrift: 'available',
      renv: 'available',
    });
    const at = `on socket ${remote.socket} at host gpu2`;
    expect(row(s, 'rbusy').evidence).toEqual([expect.stringMatching(/^heartbeat \d+s old, state=busy$/), `pane =rbusy:0.0 ${at}`]);
    expect(row(s, 'rbusy')).toMatchObject({
      host: 'gpu2',
      ssh: 'mt-remote',
      socket: remote.socket,
      pane: { target: '=rbusy:0.0', currentCommand: 'sleep', dead: false },
      heartbeat: { state: 'busy', card: 'R7', note: 'remote work', path: `gpu2:${remoteRun()}/rbusy.hb` },
    });
    expect(row(s, 'rold').evidence[0]).toMatch(/^heartbeat 8m[2-5]\ds old > stale threshold 120s$/);
    expect(row(s, 'rgone').evidence).toEqual([`no pane =rgone:0.0 ${at}`]);
    // tmux can lose the exit status of a program that exits at once: the status is not asserted.
    expect(row(s, 'rdeadpane').evidence[0]).toMatch(/^pane =rdeadpane:0\.0 is dead( \(exit status 4\))?$/);
    expect(row(s, 'rnobeat').evidence).toEqual(['no heartbeat file', expect.stringMatching(/^pane alive, idle /), `pane =rnobeat:0.0 ${at}`]);
    expect(row(s, 'rdrift').flags).toEqual(['DRIFT']);
    expect(row(s, 'rdrift').evidence).toContain('DRIFT: expected pi, pane runs sleep');
    expect(row(s, 'renv')).toMatchObject({ flags: [], process: { expected: 'sleep', matches: true } });
    expect(row(s, 'here')).toMatchObject({ readiness: 'working', pane: { target: '=here:0.0' } });
    expect(row(s, 'here').ssh).toBeUndefined();
    // A session on the remote fleet socket that no agent of that host claims is UNMANAGED there.
    expect(s.unmanaged).toEqual([expect.objectContaining({ host: 'gpu2', socket: remote.socket, session: 'rstray', panes: 1, currentCommand: 'sleep' })]);
    expect(s.fleet.sockets).toEqual([local.socket]);
    expect(s.fleet.floor.ok).toBe(true);
    expect(s.errors).toEqual([]);
    const validate = validator();
    expect(validate(JSON.parse(JSON.stringify(s)))).toBe(true);

    // Killing the remote pane flips the row to dead on the next snapshot; its host's systemd
    // still says the unit is active, so only a restart brings it back: NEEDS-RESTART.
    await remote.killSession('rbusy');
    expect(row(await snap(), 'rbusy')).toMatchObject({
      readiness: 'dead',
      flags: ['NEEDS-RESTART'],
      evidence: [
        `no pane =rbusy:0.0 ${at}`,
        'NEEDS-RESTART: mosaic-agent@rbusy.service active (running) but the pane is missing: systemd will not bring it back (mosaic-top restart rbusy)',
      ],
    });
  });

  it('5 agents on one remote host ⇒ exactly 1 ssh per snapshot (also on the reused connection); a second target ⇒ 1 more', async () => {
    const count = async (remoteAgents: TestAgentDef[]) => {
      writeRoster(paths, local.socket, [{ name: 'here', runtime: 'sleep' }, ...remoteAgents]);
      const before = subprocessCount();
      const s = await snap();
      return { spawned: subprocessCount() - before, s };
    };
    const on =
      (target: string) =>
      (_: unknown, i: number): TestAgentDef => ({
        name: `${target.replace(/\W/g, '')}${i}`,
        runtime: 'sleep',
        host: 'gpu2',
        ssh: target,
        socket: remote.socket,
      });
    const five = Array.from({ length: 5 }, on('mt-remote'));
    for (const a of five) {
      await remote.newSession(a.name, ['sleep', '600']);
      writeHeartbeat(remoteRun(), a.name, { state: 'busy' });
    }
    const none = await count([]);
    expect(none.spawned).toBe(2); // one list-panes -a + one systemctl show
    const first = await count(five);
    expect(first.spawned).toBe(none.spawned + 1);
    expect(first.s.agents.filter((a) => a.readiness === 'working')).toHaveLength(5);
    const second = await count(five);
    expect(second.spawned).toBe(none.spawned + 1);
    expect(must(second.s.probes['ssh:mt-remote'], 'ssh probe').ok).toBe(true);
    const one = await count(five.slice(0, 1));
    expect(one.spawned).toBe(first.spawned);
    const twin = Array.from({ length: 3 }, on('mt-remote-twin'));
    const both = await count([...five, ...twin]);
    expect(both.spawned).toBe(none.spawned + 2);
    expect(
      Object.keys(both.s.probes)
        .filter((k) => k.startsWith('ssh:'))
        .sort(),
    ).toEqual(['ssh:mt-remote', 'ssh:mt-remote-twin']);
  });

  it('--once --json: a refused key and a closed port degrade only their hosts (unknown + ssh reason), local agents unaffected, schema valid, exit 0', async () => {
    writeRoster(paths, local.socket, [
      { name: 'here', runtime: 'sleep', class: 'orchestrator' },
      { name: 'r1', runtime: 'sleep', host: 'gpu2', ssh: 'mt-remote-badkey', socket: remote.socket },
      { name: 'r2', runtime: 'sleep', host: 'gpu2', ssh: 'mt-remote-badkey', socket: remote.socket },
      { name: 'r3', runtime: 'sleep', host: 'gpu3', ssh: 'mt-remote-closed' },
      { name: 'r4', runtime: 'sleep', host: 'gpu4', ssh: 'mt-remote', socket: remote.socket },
    ]);
    await local.newSession('here', ['sleep', '600']);
    for (const n of ['r1', 'r2', 'r4']) {
      await remote.newSession(n, ['sleep', '600']);
      writeHeartbeat(remoteRun(), n, { state: 'busy' });
    }
    writeHeartbeat(paths.runDir, 'here', { state: 'idle' });
    const r = await runBin(['--mosaic-home', home, '--once', '--json'], { ...sshd.env(process.env), MOSAIC_HOME: '' });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    const validate = validator();
    expect(validate(s)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
    const denied = 'ssh mt-remote-badkey: Permission denied (publickey).';
    expect(row(s, 'r1')).toMatchObject({ readiness: 'unknown', evidence: [denied], pane: null, heartbeat: null, ssh: 'mt-remote-badkey' });
    expect(row(s, 'r2')).toMatchObject({ readiness: 'unknown', evidence: [denied] });
    expect(row(s, 'r3').readiness).toBe('unknown');
    expect(row(s, 'r3').evidence).toEqual([expect.stringMatching(/^ssh mt-remote-closed: connect to host 127\.0\.0\.1 port \d+: Connection refused$/)]);
    expect(row(s, 'r4')).toMatchObject({ readiness: 'working', pane: { target: '=r4:0.0' } });
    expect(row(s, 'here')).toMatchObject({ readiness: 'available', pane: { target: '=here:0.0' } });
    expect(s.probes['ssh:mt-remote-badkey']).toMatchObject({ ok: false, error: denied });
    expect(s.probes['ssh:mt-remote']).toMatchObject({ ok: true, error: null });
    expect(s.errors).toContain(denied);
    expect(s.fleet.counts).toMatchObject({ unknown: 3, working: 1, available: 1 });
  });

  it('a hostile remote heartbeat (escape sequences in card, state and note) stays inert in the --once table', async () => {
    writeRoster(paths, local.socket, [{ name: 'rhostile', runtime: 'sleep', host: 'gpu2', ssh: 'mt-remote', socket: remote.socket }]);
    await remote.newSession('rhostile', ['sleep', '600']);
    const evilCard = '\u001b]0;pwned\u0007';
    fs.writeFileSync(
      path.join(remoteRun(), 'rhostile.hb'),
      `v=1\nts=${nowS()}\nstate=\u001b[2Jbusy\ncard=${evilCard}\nnote=\u001b]52;c;ZXZpbA==\u0007 \u009b31m\n`,
    );
    const env = { ...sshd.env(process.env), MOSAIC_HOME: '' };
    const table = await runBin(['--mosaic-home', home, '--once'], env);
    expect(table.code).toBe(0);
    // The hostile values reached the table (the card column, the evidence), made visible…
    expect(table.stdout).toContain('^[]0;pwned^G');
    expect(table.stdout).toMatch(/state "\?\[2Jbusy" is not busy\|idle/);
    // …and no control character from them reached the terminal.
    expect(table.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    // The same snapshot as JSON, in this process (the table above is the real program's).
    const json = await runCliInProcess(['--mosaic-home', home, '--once', '--json'], env);
    const hb = row(JSON.parse(json.stdout) as Snapshot, 'rhostile').heartbeat;
    expect(hb).toMatchObject({ card: evilCard, note: '\u001b]52;c;ZXZpbA==\u0007 \u009b31m', state: null });
  });

  it('send and dispatch over ssh through the real program: receipts from remote captures', async () => {
    const simAgent = path.join(ROOT, 'dist', 'src', 'demo', 'sim-agent.js');
    writeRoster(paths, local.socket, [
      { name: 'rsim', runtime: 'claude', host: 'gpu2', ssh: 'mt-remote', socket: remote.socket },
      { name: 'rdead', runtime: 'sh', host: 'gpu2', ssh: 'mt-remote', socket: remote.socket },
    ]);
    // The agent runs on the "remote" tmux server; the sim answers typed input like a runtime and
    // draws Claude Code's input area (a remote receipt rests on the captures: the box emptied).
    await remote.newSession(
      'rsim',
      ['node', simAgent, '--agent', 'rsim', '--run-dir', remoteRun(), '--input-mode', 'accept', '--busy', '0', '--idle', '600', '--screen', 'claude'],
      { width: 120, height: 30 },
    );
    await remote.newSession('rdead', ['sh', '-c', 'exit 5'], { remainOnExit: true });
    await waitFor(async () => (await remote.capture('rsim')).includes('? for shortcuts'), 'rsim shows its idle input box');
    await waitFor(async () => (await remote.ok(['display-message', '-p', '-t', '=rdead:0.0', '#{pane_dead}'])).trim() === '1', 'rdead dead');
    // ssh through a wrapper that logs each call: the tmux commands must travel over ssh (the
    // "remote" tmux server is on this machine, so a local tmux -L would reach it too).
    const sshLog = path.join(home, 'ssh-calls');
    const loggingSsh = path.join(home, 'logging-ssh');
    fs.writeFileSync(loggingSsh, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${sshLog}'\nexec ssh "$@"\n`, { mode: 0o755 });
    // The card lives on the run's PostgreSQL cluster (the server tier: no backlog server to
    // start, ~2 s of CPU); without a cluster (local runs only), in the embedded tier.
    db = inject('pgAdminUrl') ? await createTestDatabase(`mt_remote_${process.pid}`) : null;
    const env = { ...sshd.env(process.env), MOSAIC_SSH: loggingSsh, MOSAIC_HOME: '', DATABASE_URL: db?.url ?? '', PGLITE_DATA_DIR: '' };
    const cli = (args: string[]) => runBin(['--mosaic-home', home, ...args], env);

    const sent = await cli(['send', 'rsim', 'hello over ssh', '--verify', '--json']);
    const receipt = readJson<SendReceipt>(sent.stdout);
    expect(receipt).toMatchObject({ status: 'submitted', agent: 'rsim' });
    expect(sent.code).toBe(0);
    await waitFor(async () => (await remote.capture('rsim')).includes('ack: [operator:mosaic-top] hello over ssh'), 'the remote agent took it');
    const calls = fs.readFileSync(sshLog, 'utf8');
    const over = `-- mt-remote 'tmux' '-u' '-L' '${remote.socket}'`;
    // The text travels in a paste buffer (stdin of the remote tmux), never as send-keys arguments.
    expect(calls).toMatch(new RegExp(`${over.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 'load-buffer' '-b' 'mosaic-top-\\d+-\\d+' '-'`));
    expect(calls).toMatch(new RegExp(`'paste-buffer' '-p' '-d' '-b' 'mosaic-top-\\d+-\\d+' '-t' '=rsim:0\\.0'`));
    expect(calls).not.toContain('hello over ssh');
    expect(calls).toContain(`${over} 'send-keys' '-t' '=rsim:0.0' 'Enter'`);
    expect(calls).toContain(`ControlPath=${paths.runDir}/ssh-%C`);

    // The refusal of a dead remote pane: the same code in this process (one node start less).
    const dead = await runCliInProcess(['--mosaic-home', home, 'send', 'rdead', 'anyone?', '--verify', '--json'], env);
    expect(dead.code).toBe(3);
    // (tmux may report the pane dead a moment before its exit status: the status is not asserted.)
    expect(readJson<SendReceipt>(dead.stdout).reason).toMatch(new RegExp(`^pane =rdead:0\\.0 on socket ${remote.socket} at host gpu2 is dead`));

    // The card set up and read back in this process (test/helpers/cli.ts; the store is the real
    // one); send and dispatch, whose ssh calls are the point, run as the real program.
    const cliIn = (args: string[]) => runCliInProcess(['--mosaic-home', home, ...args], env);
    expect((await cliIn(['backlog', 'create', '--id', 'RC1', '--title', 'remote card', '--body', 'do it over there'])).code).toBe(0);
    const dispatched = await cli(['dispatch', 'rsim', '--json']);
    const result = readJson<DispatchResult>(dispatched.stdout);
    expect(result).toMatchObject({ ok: true, card: { id: 'RC1' }, receipt: { status: 'submitted' } });
    const card = readJson<Card>((await cliIn(['backlog', 'show', '--id', 'RC1', '--json'])).stdout);
    expect(card).toMatchObject({ status: 'claimed', claimOwner: 'rsim' });
    await waitFor(async () => (await remote.capture('rsim')).includes('RC1'), 'the card text reached the remote pane');
  });

  it('watch over ssh, in a real terminal: ssh -t … tmux attach -r on a remote viewer; typing changes nothing; detach removes the viewer', async () => {
    writeRoster(paths, local.socket, [{ name: 'rwatch', runtime: 'sh', host: 'gpu2', ssh: 'mt-remote', socket: remote.socket }]);
    await remote.newSession('rwatch', ['sh', '-c', 'printf "remote agent marker\\n"; exec sleep 600'], { width: 100, height: 30 });
    await waitFor(async () => (await remote.capture('rwatch')).includes('remote agent marker'), 'remote agent pane ready');
    const before = await remote.capture('rwatch');
    const outer = await startIsolatedTmux('rwatch-outer');
    try {
      const e = sshd.env(process.env);
      const script = `node '${path.join(ROOT, 'bin', 'mosaic-top')}' watch rwatch --mosaic-home '${home}'; echo "WATCH-EXIT=$?"; exec sleep 600`;
      await outer.newSession('op', ['sh', '-c', script], {
        width: 80,
        height: 24,
        env: { MOSAIC_SSH: e.MOSAIC_SSH!, MOSAIC_SSH_CONFIG: e.MOSAIC_SSH_CONFIG!, MOSAIC_SSH_TIMEOUT: e.MOSAIC_SSH_TIMEOUT!, MOSAIC_HOME: '' },
      });
      const viewer: string = await waitFor(
        async () => (await remote.sessions()).find((n) => /^rwatch-watch-\d+$/.test(n)) ?? '',
        'viewer session on the remote server',
        { timeoutMs: 30_000 },
      );
      await waitFor(
        async () => (await remote.ok(['list-clients', '-F', '#{client_session} #{client_readonly}'])).includes(`${viewer} 1`),
        'read-only client attached there',
        { timeoutMs: 30_000 },
      );
      // The viewer's client came in over ssh: sshd is among its ancestors.
      const clientPid = Number((await remote.ok(['list-clients', '-F', '#{client_pid}'])).trim().split('\n')[0]);
      const ancestors: string[] = [];
      for (let pid = clientPid, i = 0; pid > 1 && i < 6; i++) {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        ancestors.push(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
        pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      }
      expect(ancestors).toContain('sshd');
      await waitFor(async () => (await outer.capture('op')).includes('remote agent marker'), 'the outer terminal shows the remote pane', { timeoutMs: 30_000 });
      // Through a ControlMaster the remote screen can show before the ssh client has put the
      // local terminal in raw mode; keys typed earlier would wait in the line discipline for a
      // newline (the detach key among them). Type only once the terminal is raw.
      const tty = (await outer.ok(['display-message', '-p', '-t', '=op:0.0', '#{pane_tty}'])).trim();
      await waitFor(() => /(^|\s)-icanon(\s|$)/.test(spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }).stdout), 'outer terminal in raw mode', {
        timeoutMs: 30_000,
      });
      await outer.ok(['send-keys', '-t', '=op:0.0', '-l', 'typed by the watcher']);
      await outer.ok(['send-keys', '-t', '=op:0.0', 'Enter']);
      // Detach. Twice on a loaded 2-core machine (once in 25 full-suite runs) the detach key did
      // not reach the remote client through ssh's pty (the screen stayed attached, nothing else
      // amiss); an operator would press it again, and so does the test — once, after 10 s.
      const exited = async () => (await outer.capture('op')).includes('WATCH-EXIT=');
      await outer.ok(['send-keys', '-t', '=op:0.0', 'C-b', 'd']);
      if (!(await waitFor(exited, 'watch exits after detach', { timeoutMs: 10_000 }).catch(() => false))) {
        await outer.ok(['send-keys', '-t', '=op:0.0', 'C-b', 'd']);
        await waitFor(exited, 'watch exits after a second detach', { timeoutMs: 50_000 }).catch(async (error: Error) => {
          throw new Error(`${error.message}; screen:\n${await outer.capture('op')}\nremote sessions: ${(await remote.sessions()).join(' ')}`);
        });
      }
      expect(await outer.capture('op')).toContain('WATCH-EXIT=0');
      await waitFor(async () => !(await remote.sessions()).includes(viewer), 'viewer removed on the remote server', { timeoutMs: 15_000 });
      expect(await remote.capture('rwatch')).toBe(before);
    } finally {
      await outer.stop();
    }
  });
});
