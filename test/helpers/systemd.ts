/**
 * Test helper: a throwaway REAL `systemd --user` per test file (field notes, "A real systemd
 * user manager in tests"), with the fleet's units — a holder unit `mosaic-tmux-holder.service`
 * that owns the test's tmux server (`tmux -L <socket>`) and the template
 * `mosaic-agent@.service` (oneshot + RemainAfterExit, like upstream's) that starts the agent's
 * session on it.
 *
 * How the manager runs (as root): the launcher moves itself into a fresh sub-cgroup of every
 * cgroup hierarchy systemd uses on this machine (the cgroup2 mount — `/sys/fs/cgroup/unified`
 * on a hybrid layout, `/sys/fs/cgroup` on a unified one — and the v1 `name=systemd` one when
 * mounted), then `unshare --mount --propagation private`: a 64 MB tmpfs on `/run/systemd` with
 * `/run/systemd/system` in it (systemd then believes the system was booted with systemd),
 * `/dev/null` bound over `/dev/console` (where a user manager logs), and `exec
 * /usr/lib/systemd/systemd --user` with HOME, XDG_RUNTIME_DIR (0700) and XDG_CONFIG_HOME of a
 * temp dir. `systemctl --user` reaches `$XDG_RUNTIME_DIR/systemd/private`. Programs under test
 * get that environment from {@link TestSystemd.env}.
 *
 * The user bus: unless started with `{ bus: false }`, the manager gets its own throwaway
 * `dbus-daemon --session` at `$XDG_RUNTIME_DIR/bus`, the way a login session has it
 * (dbus-user-session): units `dbus.socket` (pulled in by `sockets.target`) and `dbus.service`
 * written to the temp config dir BEFORE the manager starts. systemd connects to the user bus
 * (and registers `org.freedesktop.systemd1` on it) only while ITS `dbus.socket` and
 * `dbus.service` run — a daemon started beside it is never used — so the daemon is the
 * manager's own, socket-activated by the first client, and ends with it. With `{ bus: false }`
 * `dbus.socket` is masked: no bus at all (a host without dbus-user-session). The machine's own
 * bus and manager are never touched: the environment names only the throwaway ones.
 *
 * Teardown ({@link TestSystemd.stop}) leaves nothing: `systemctl --user exit`, the manager's pid
 * waited for, `cgroup.kill` on the sub-cgroup (and SIGKILL to whatever a v1 hierarchy still
 * lists), the cgroups removed deepest first, the tmux server of the socket ended (`-L` only),
 * the temp dir removed.
 *
 * Where the real manager cannot run (not root, no `unshare`, no systemd binary, no writable
 * cgroup hierarchy) the helper falls back to the fixture `systemctl` (test/fixtures/bin, which
 * only answers `show`) and says so in `description`; under `CI=true` that is an error: CI must
 * test on the real one.
 *
 * ```ts
 * const sd = await startTestSystemd('lifecycle', tmux.socket);
 * await sd.installFleetUnits();
 * await sd.systemctl(['start', 'mosaic-agent@coder1.service']);
 * await runBin(['--once', '--json'], sd.env({ ...process.env }));
 * await sd.stop();
 * ```
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { busDaemonPidOf, endByPid, writeBusUnits } from './systemd-bus.js';
import { waitFor } from './tmux.js';

const execFileAsync = promisify(execFile);

/** The user manager binary (Debian's `systemd` package). */
export const SYSTEMD_BINARY = '/usr/lib/systemd/systemd';
/** The fixture `systemctl` directory (put first on PATH in fixture mode). */
export const FIXTURE_BIN = path.resolve(import.meta.dirname, '..', 'fixtures', 'bin');

/** What a `systemctl` call answered; never thrown for a non-zero exit. */
export interface SystemctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One throwaway systemd user manager (or the fixture standing in for it). */
export interface TestSystemd {
  /** `real`: a real `systemd --user`; `fixture`: test/fixtures/bin/systemctl (only `show`). */
  kind: 'real' | 'fixture';
  /** One line for test logs: which one is used and, for the fixture, why the real one could not run. */
  description: string;
  /** The temp dir holding HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, the logs and the agents' start script. */
  dir: string;
  /** The tmux socket (`-L`) the units start sessions on. */
  socket: string;
  /** The holder session the holder unit creates (roster `holder_session`). */
  holderSession: string;
  /**
   * `base` (default process.env) with this manager's HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME (or
   * the fixture's PATH); DBUS_SESSION_BUS_ADDRESS names this manager's bus when it has one, is
   * removed for a real manager without one, and leads nowhere with the fixture (never the machine's).
   */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** True when the manager has its throwaway user bus (`$XDG_RUNTIME_DIR/bus`). */
  bus: boolean;
  /** Pid of the bus daemon (`dbus.service`'s MainPID), or null when it does not run (not activated yet, no bus, the fixture). */
  busDaemonPid(): Promise<number | null>;
  /** `systemctl --user …args` against this manager (bounded, 20 s). */
  systemctl(args: string[]): Promise<SystemctlResult>;
  /** `systemctl --user show <unit>` as a property map (Id, ActiveState, SubState, UnitFileState, MainPID, Result). */
  show(unit: string): Promise<Record<string, string>>;
  /**
   * Writes the holder unit and the `mosaic-agent@.service` template (+ its start script) and
   * reloads the manager. Agents run `sh -c 'echo agent <name> up; exec sleep 86400'` unless
   * {@link setAgentCommand} says otherwise.
   */
  installFleetUnits(): Promise<void>;
  /** The shell command agent `agent`'s session runs from its next start on. */
  setAgentCommand(agent: string, shellCommand: string): void;
  /** While set, starting `mosaic-agent@<agent>.service` fails (its start script exits 1): a failed unit. */
  setAgentFailing(agent: string, failing: boolean): void;
  /** `enable` + `daemon-reload` (systemd 252 reports a template instance's UnitFileState from before the enable until a reload). */
  enable(unit: string): Promise<void>;
  /**
   * Fixture only: what `show` answers for `unit` (LoadState `loaded`, MainPID 0); throws on the
   * real manager, whose units are real.
   */
  setFixtureUnit(unit: string, state: { activeState: string; subState: string; unitFileState: string }): void;
  /** Ends the manager, its processes, cgroups, the socket's tmux server and the temp dir; idempotent. */
  stop(): Promise<void>;
}

/** A cgroup hierarchy the manager needs a sub-cgroup in: its mount point and our process's path in it. */
interface Hierarchy {
  mount: string;
  /** cgroup2 (has cgroup.kill) or the v1 `name=systemd` hierarchy. */
  v2: boolean;
  /** Our own cgroup path inside it (from /proc/self/cgroup), e.g. `/`. */
  own: string;
}

/** The cgroup hierarchies systemd uses here: the cgroup2 mount and, on a hybrid layout, `name=systemd`. */
function cgroupHierarchies(): Hierarchy[] {
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '));
  const own = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const found: Hierarchy[] = [];
  const v2Mount = mounts.find((m) => m[2] === 'cgroup2')?.[1];
  if (v2Mount) found.push({ mount: v2Mount, v2: true, own: own.find((l) => l.startsWith('0::'))?.slice(3) || '/' });
  const namedMount = mounts.find((m) => m[2] === 'cgroup' && (m[3] ?? '').split(',').includes('name=systemd'))?.[1];
  if (namedMount) found.push({ mount: namedMount, v2: false, own: own.find((l) => /^\d+:name=systemd:/.test(l))?.replace(/^\d+:name=systemd:/, '') || '/' });
  return found;
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, program)));
}

/**
 * Why a real `systemd --user` cannot run here, or null when it can be tried: not root, no
 * `unshare`, no systemd binary or `systemctl`, no writable cgroup2 hierarchy — or
 * `MT_TEST_SYSTEMD=fixture` (to exercise the fallback on a machine that has the real one).
 */
export function realSystemdUnavailableReason(): string | null {
  if (process.env.MT_TEST_SYSTEMD === 'fixture') return 'MT_TEST_SYSTEMD=fixture asked for the fixture';
  if (process.getuid?.() !== 0) return 'not root (a throwaway user manager needs a private mount namespace and its own cgroup)';
  if (!fs.existsSync(SYSTEMD_BINARY)) return `${SYSTEMD_BINARY} missing (apt-get install -y --no-install-recommends systemd)`;
  if (!onPath('unshare')) return 'no unshare on PATH (util-linux)';
  if (!onPath('systemctl')) return 'no systemctl on PATH';
  try {
    const hierarchies = cgroupHierarchies();
    if (!hierarchies.some((h) => h.v2)) return 'no cgroup2 hierarchy mounted';
    for (const h of hierarchies) {
      const own = path.join(h.mount, h.own);
      try {
        fs.accessSync(own, fs.constants.W_OK);
      } catch (error) {
        return `cannot create a sub-cgroup in ${own} (${(error as NodeJS.ErrnoException).code}): a container without a writable cgroup hierarchy`;
      }
    }
  } catch (error) {
    return `cgroups unreadable: ${(error as Error).message}`;
  }
  return null;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function call(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<SystemctlResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, encoding: 'utf8', timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr || e.message };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sub-cgroup dirs under `root`, deepest first (for rmdir). */
function cgroupDirsDeepestFirst(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    out.push(dir);
  };
  walk(root);
  return out;
}

function cgroupPids(root: string): number[] {
  const pids: number[] = [];
  for (const dir of cgroupDirsDeepestFirst(root)) {
    try {
      pids.push(...fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    } catch {
      // gone already
    }
  }
  return pids;
}

/**
 * Starts a throwaway user manager for one test file (`area` names its dirs and cgroup), whose
 * units start sessions on tmux socket `socket` with holder session `holderSession`. Falls back
 * to the fixture where the real one cannot run (see {@link realSystemdUnavailableReason});
 * throws under `CI=true` instead, and when the real manager does not come up within 20 s.
 */
export async function startTestSystemd(area: string, socket: string, holderSession = '_keepalive', opts: { bus?: boolean } = {}): Promise<TestSystemd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mt-sd-${area}-`));
  const home = path.join(dir, 'home');
  const runtimeDir = path.join(dir, 'xdg-run');
  const configHome = path.join(dir, 'config');
  const unitDir = path.join(configHome, 'systemd', 'user');
  const agentsDir = path.join(dir, 'agents');
  for (const d of [home, configHome, unitDir, agentsDir]) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(runtimeDir, { mode: 0o700 });
  fs.chmodSync(runtimeDir, 0o700);
  const tmuxTmpdir = process.env.TMUX_TMPDIR || '/tmp';

  const unavailable = realSystemdUnavailableReason();
  if (unavailable) {
    if (process.env.CI === 'true') {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`CI=true requires a real systemd --user for these tests, but it cannot run here: ${unavailable}`);
    }
    return fixtureSystemd(dir, socket, holderSession, unavailable);
  }

  const bus = opts.bus ?? true;
  writeBusUnits(unitDir, bus);
  const hierarchies = cgroupHierarchies();
  const cgName = `mt-sd-${area}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const cgroups = hierarchies.map((h) => ({ ...h, dir: path.join(h.mount, h.own, cgName) }));
  for (const c of cgroups) fs.mkdirSync(c.dir);

  const managerEnv = `HOME=${shq(home)} XDG_RUNTIME_DIR=${shq(runtimeDir)} XDG_CONFIG_HOME=${shq(configHome)}`;
  const inner = [
    'mount -t tmpfs -o size=64m,mode=0755 tmpfs /run/systemd',
    'mkdir -p /run/systemd/system',
    'mount --bind /dev/null /dev/console',
    `exec env -u DBUS_SESSION_BUS_ADDRESS ${managerEnv} ${SYSTEMD_BINARY} --user`,
  ].join(' && ');
  const launcher = [
    ...cgroups.map((c) => `echo $$ > ${shq(path.join(c.dir, 'cgroup.procs'))}`),
    `exec unshare --mount --propagation private sh -c ${shq(inner)}`,
  ].join(' && ');
  const log = fs.openSync(path.join(dir, 'manager.log'), 'a');
  const child: ChildProcess = spawn('sh', ['-c', launcher], { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const pid = child.pid!;

  const env = (base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...base, HOME: home, XDG_RUNTIME_DIR: runtimeDir, XDG_CONFIG_HOME: configHome };
    if (bus) e.DBUS_SESSION_BUS_ADDRESS = `unix:path=${path.join(runtimeDir, 'bus')}`;
    else delete e.DBUS_SESSION_BUS_ADDRESS;
    return e;
  };
  const systemctl = (args: string[]) => call('systemctl', ['--user', ...args], env());

  let stopped = false;
  const busDaemonPid = async () => (bus ? busDaemonPidOf(systemctl) : null);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The bus daemon first, by its pid (the manager's exit would stop it too; the cgroup kill below ends any rest).
    if (bus && !exited) endByPid(await busDaemonPid());
    if (!exited) await systemctl(['exit']);
    await waitFor(() => exited || !alive(pid), `systemd --user (pid ${pid}) to exit`, { timeoutMs: 20_000 }).catch(() => {});
    for (const c of cgroups) {
      if (c.v2) {
        try {
          fs.writeFileSync(path.join(c.dir, 'cgroup.kill'), '1');
        } catch {
          // an older kernel: the SIGKILLs below do it
        }
      }
    }
    for (const c of cgroups)
      for (const p of cgroupPids(c.dir)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    await waitFor(() => cgroups.every((c) => cgroupPids(c.dir).length === 0), `cgroup ${cgName} to empty`, { timeoutMs: 20_000 });
    for (const c of cgroups) {
      for (const d of cgroupDirsDeepestFirst(c.dir)) {
        await waitFor(
          () => {
            try {
              fs.rmdirSync(d);
              return true;
            } catch (error) {
              return (error as NodeJS.ErrnoException).code === 'ENOENT';
            }
          },
          `rmdir ${d}`,
          { timeoutMs: 10_000 },
        );
      }
    }
    await call('tmux', ['-L', socket, 'kill-server'], { ...process.env, TMUX_TMPDIR: tmuxTmpdir }, 10_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`systemd --user exited at start: ${fs.readFileSync(path.join(dir, 'manager.log'), 'utf8').trim().slice(-400)}`);
        if (!fs.existsSync(path.join(runtimeDir, 'systemd', 'private'))) return false;
        return (await systemctl(['show', '--property=Version'])).code === 0;
      },
      'systemd --user to answer on its private socket',
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const version = (await systemctl(['show', '--property=Version'])).stdout.trim().replace(/^Version=/, '');

  const startScript = path.join(dir, 'agent-start.sh');
  const sd: TestSystemd = {
    kind: 'real',
    description: `real systemd --user ${version} (pid ${pid}, cgroup ${cgName}, XDG_RUNTIME_DIR ${runtimeDir}, ${bus ? 'own user bus' : 'no user bus'})`,
    dir,
    socket,
    holderSession,
    env,
    bus,
    busDaemonPid,
    systemctl,
    async show(unit) {
      const r = await systemctl(['show', unit, '--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,Result', '--no-pager']);
      return Object.fromEntries(
        r.stdout
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    },
    async installFleetUnits() {
      fs.writeFileSync(
        startScript,
        [
          '#!/bin/sh',
          '# Starts agent $1 as a tmux session on the test socket (test/helpers/systemd.ts).',
          `[ -e ${shq(agentsDir)}/"$1.fail" ] && { echo "start of agent $1 refused: test fail marker" >&2; exit 1; }`,
          `cmd="echo agent $1 up; exec sleep 86400"`,
          `[ -f ${shq(agentsDir)}/"$1.cmd" ] && cmd=$(cat ${shq(agentsDir)}/"$1.cmd")`,
          `exec /usr/bin/env tmux -L ${shq(socket)} new-session -d -s "$1" -x 120 -y 40 "$cmd"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const tmux = `/usr/bin/env TMUX_TMPDIR=${tmuxTmpdir} tmux -L ${socket}`;
      fs.writeFileSync(
        path.join(unitDir, 'mosaic-tmux-holder.service'),
        [
          '[Unit]',
          'Description=mosaic tmux holder (test): owns the fleet tmux server',
          '[Service]',
          'Type=forking',
          `Environment=TMUX_TMPDIR=${tmuxTmpdir}`,
          `ExecStart=${tmux} new-session -d -s ${holderSession} -x 80 -y 24 sleep 86400`,
          `ExecStop=-${tmux} kill-server`,
          `StandardOutput=file:${path.join(dir, 'holder.log')}`,
          `StandardError=file:${path.join(dir, 'holder.log')}`,
          '[Install]',
          'WantedBy=default.target',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(
        path.join(unitDir, 'mosaic-agent@.service'),
        [
          '[Unit]',
          'Description=mosaic agent %I (test)',
          // A test file restarts one agent more than 5 times within 10 s: systemd's default start
          // rate limit would fail the unit ("start request repeated too quickly") at random.
          'StartLimitIntervalSec=0',
          'Requires=mosaic-tmux-holder.service',
          'After=mosaic-tmux-holder.service',
          '[Service]',
          'Type=oneshot',
          'RemainAfterExit=yes',
          `Environment=TMUX_TMPDIR=${tmuxTmpdir}`,
          `ExecStart=${startScript} %I`,
          `ExecStop=-${tmux} kill-session -t =%I`,
          `StandardOutput=file:${path.join(dir, 'agents.log')}`,
          `StandardError=file:${path.join(dir, 'agents.log')}`,
          '[Install]',
          'WantedBy=default.target',
          '',
        ].join('\n'),
      );
      const r = await systemctl(['daemon-reload']);
      if (r.code !== 0) throw new Error(`systemctl --user daemon-reload: ${r.stderr.trim()}`);
    },
    setAgentCommand(agent, shellCommand) {
      fs.writeFileSync(path.join(agentsDir, `${agent}.cmd`), shellCommand);
    },
    setAgentFailing(agent, failing) {
      const marker = path.join(agentsDir, `${agent}.fail`);
      if (failing) fs.writeFileSync(marker, '');
      else fs.rmSync(marker, { force: true });
    },
    async enable(unit) {
      const r = await systemctl(['enable', unit]);
      if (r.code !== 0) throw new Error(`systemctl --user enable ${unit}: ${r.stderr.trim()}`);
      await systemctl(['daemon-reload']);
    },
    setFixtureUnit() {
      throw new Error('setFixtureUnit: the real systemd --user is in use; start and stop real units instead');
    },
    stop,
  };
  return sd;
}

/** The fixture stand-in: `show` answers from a fixture file; every lifecycle verb is refused. */
function fixtureSystemd(dir: string, socket: string, holderSession: string, why: string): TestSystemd {
  const fixture = path.join(dir, 'units.fixture');
  fs.writeFileSync(fixture, '');
  const env = (base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => {
    // A bus address that leads nowhere: a console's bus monitor never reaches the machine's bus.
    return {
      ...base,
      PATH: `${FIXTURE_BIN}:${base.PATH ?? ''}`,
      MT_SYSTEMCTL_FIXTURE: fixture,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(dir, 'no-bus')}`,
    };
  };
  const refuse = async (what: string): Promise<never> => {
    throw new Error(`${what} needs a real systemd --user (fixture in use: ${why})`);
  };
  return {
    kind: 'fixture',
    description: `fixture systemctl (test/fixtures/bin): the real systemd --user cannot run here: ${why}`,
    dir,
    socket,
    holderSession,
    env,
    bus: false,
    busDaemonPid: async () => null,
    systemctl: (args) => call('systemctl', ['--user', ...args], env()),
    async show(unit) {
      const r = await call('systemctl', ['--user', 'show', unit, '--property=Id'], env());
      return Object.fromEntries(
        r.stdout
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    },
    installFleetUnits: () => refuse('installing units'),
    setAgentCommand: () => {},
    setAgentFailing: () => {},
    enable: (unit) => refuse(`enabling ${unit}`),
    setFixtureUnit(unit, st) {
      const lines = fs
        .readFileSync(fixture, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith(`${unit} `));
      lines.push(`${unit} loaded ${st.activeState} ${st.subState} ${st.unitFileState || '-'} 0`);
      fs.writeFileSync(fixture, `${lines.join('\n')}\n`);
    },
    async stop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
