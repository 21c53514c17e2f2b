/**
 * Test helper: a throwaway OpenSSH server on 127.0.0.1 and a free high port, run as root in the
 * foreground (`/usr/sbin/sshd -D -e -f <config>`), with its own temp dir: generated host and
 * client keys, an AuthorizedKeysFile in the temp dir, and `SetEnv MOSAIC_HOME=<remote home>` so
 * the "remote" side reads a temp Mosaic home (never the real /root/.config/mosaic), and `SetEnv
 * HOME=<empty dir>` so the login shell sources no rc file of this machine's root. Also writes a
 * client ssh_config with aliases:
 *
 * - `mt-remote` — logs in with the authorized key;
 * - `mt-remote-twin` — the same server under a second alias (a second ssh target);
 * - `mt-remote-badkey` — a key that is not authorized (⇒ `Permission denied (publickey).`);
 * - `mt-remote-closed` — a port where nothing listens (⇒ `Connection refused`).
 *
 * Tests pass `MOSAIC_SSH_CONFIG=<sshConfig>`. `stop()` ends the ControlMaster processes found
 * in the given run dirs (`ssh -O exit`), then this sshd (by its pid), then removes the temp dir.
 * Because the "remote" is this machine as root, a remote tmux socket is simply an isolated
 * `tmux -L` server the test starts (test/helpers/tmux.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './tmux.js';
import { freePort } from './net.js';

/** Path of the server binary (Debian's openssh-server). */
export const SSHD = '/usr/sbin/sshd';

/** One running throwaway sshd. */
export interface TestSshd {
  port: number;
  /** Client config to pass as `-F` (aliases above). */
  sshConfig: string;
  /** `MOSAIC_HOME` of every session on this server (the remote Mosaic home); its `fleet/run` exists. */
  remoteHome: string;
  /**
   * The remote user's systemd: sessions run the fixture `systemctl` (test/fixtures/bin first on
   * their PATH) reading this file (`MT_SYSTEMCTL_FIXTURE`; empty at start: every unit not-found).
   */
  remoteSystemctlFixture: string;
  /** Environment for code under test: `MOSAIC_SSH=ssh`, `MOSAIC_SSH_CONFIG=<sshConfig>`, `MOSAIC_SSH_TIMEOUT=20`, no agent socket. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Ends ControlMasters under `runDirs` (`ssh -O exit` on each `ssh-*` socket), then sshd; idempotent. */
  stop(runDirs?: string[]): Promise<void>;
}

/** Why sshd cannot run here (missing binary, not root), or null when it can be tried. */
export function sshdUnavailableReason(): string | null {
  if (!fs.existsSync(SSHD)) return `${SSHD} not installed (apt-get install -y --no-install-recommends openssh-server openssh-client)`;
  if (process.getuid?.() !== 0) return 'sshd tests need root (the throwaway server logs in as root)';
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'ssh client not installed (apt-get install -y openssh-client)';
  }
  return null;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Ends every ControlMaster whose socket (`ssh-*`) is in `runDir`, with `ssh -O exit`. */
export function stopControlMasters(runDir: string, sshConfig: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(runDir).filter((n) => n.startsWith('ssh-'));
  } catch {
    return;
  }
  for (const n of names) {
    try {
      execFileSync('ssh', ['-F', sshConfig, '-o', `ControlPath=${path.join(runDir, n)}`, '-O', 'exit', 'mt-remote'], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // Already gone (a stale socket file): nothing to stop.
    }
  }
}

/** Starts a throwaway sshd (see the module doc). Throws with sshd's stderr when it does not come up. */
export async function startTestSshd(opts: { remoteEnv?: Record<string, string> } = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-sshd-'));
  const remoteHome = path.join(dir, 'remote-home');
  fs.mkdirSync(path.join(remoteHome, 'fleet', 'run'), { recursive: true });
  fs.mkdirSync(path.join(remoteHome, 'fleet', 'agents'), { recursive: true });
  const key = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(dir, name)], { stdio: 'ignore' });
    return path.join(dir, name);
  };
  const hostKey = key('host_ed25519');
  const clientKey = key('client_ed25519');
  const badKey = key('unauthorized_ed25519');
  fs.writeFileSync(path.join(dir, 'authorized_keys'), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const closedPort = await freePort();
  const remoteSystemctlFixture = path.join(dir, 'remote-systemctl.txt');
  fs.writeFileSync(remoteSystemctlFixture, '');
  const fixtureBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin');
  // The remote user's HOME: an empty dir. sshd runs each session's command through the login
  // shell, and bash run by sshd sources ~/.bashrc: this machine's root one (pyenv init) costs
  // ~2 s of wall and ~0.4 s of CPU per ssh session, and is no part of what the tests prove.
  const userHome = path.join(dir, 'remote-user-home');
  fs.mkdirSync(userHome);
  const setEnv = [
    `HOME=${userHome}`,
    `MOSAIC_HOME=${remoteHome}`,
    `PATH=${fixtureBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    `MT_SYSTEMCTL_FIXTURE=${remoteSystemctlFixture}`,
  ];
  if (process.env.TMUX_TMPDIR) setEnv.push(`TMUX_TMPDIR=${process.env.TMUX_TMPDIR}`);
  // `remoteEnv` replaces or adds session variables, e.g. a real systemd user manager's
  // XDG_RUNTIME_DIR and a PATH without the fixture systemctl (test/helpers/systemd.ts).
  for (const [k, v] of Object.entries(opts.remoteEnv ?? {})) {
    const at = setEnv.findIndex((e) => e.startsWith(`${k}=`));
    if (at >= 0) setEnv[at] = `${k}=${v}`;
    else setEnv.push(`${k}=${v}`);
  }
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PrintMotd no',
      'PrintLastLog no',
      // Sessions start many short connections per test: no throttling of unauthenticated ones.
      'MaxStartups 100',
      'LogLevel ERROR',
      `SetEnv ${setEnv.join(' ')}`,
      '',
    ].join('\n'),
  );
  const sshConfig = path.join(dir, 'ssh_config');
  const common = [
    '  HostName 127.0.0.1',
    '  User root',
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  GlobalKnownHostsFile /dev/null',
    '  LogLevel ERROR',
  ];
  fs.writeFileSync(
    sshConfig,
    [
      'Host mt-remote mt-remote-twin',
      `  Port ${port}`,
      `  IdentityFile ${clientKey}`,
      ...common,
      'Host mt-remote-badkey',
      `  Port ${port}`,
      `  IdentityFile ${badKey}`,
      ...common,
      'Host mt-remote-closed',
      `  Port ${closedPort}`,
      `  IdentityFile ${clientKey}`,
      ...common,
      '',
    ].join('\n'),
  );

  const stderr: Buffer[] = [];
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`sshd exited: ${Buffer.concat(stderr).toString().trim()}`);
      return connects(port);
    }, `sshd listening on 127.0.0.1:${port}`);
  } catch (error) {
    if (!exited) child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${Buffer.concat(stderr).toString().trim()}`, { cause: error });
  }

  let stopped = false;
  return {
    port,
    sshConfig,
    remoteHome,
    remoteSystemctlFixture,
    env(base = process.env) {
      const { SSH_AUTH_SOCK: _agent, ...rest } = base;
      // A full handshake on a loaded test machine may take seconds: a generous remote bound.
      return { ...rest, MOSAIC_SSH: 'ssh', MOSAIC_SSH_CONFIG: sshConfig, MOSAIC_SSH_TIMEOUT: '20' };
    },
    async stop(runDirs = []) {
      if (stopped) return;
      stopped = true;
      for (const d of runDirs) stopControlMasters(d, sshConfig);
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor(() => exited, 'sshd to exit', { timeoutMs: 5000 });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
