/**
 * The user bus of the throwaway `systemd --user` (test/helpers/systemd.ts): its units, written
 * before the manager starts, and the end of its daemon by pid. systemd connects to the user bus
 * only while its own `dbus.socket` and `dbus.service` run, so the daemon is the manager's,
 * socket-activated at `$XDG_RUNTIME_DIR/bus` as dbus-user-session has it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The bus daemon (Debian's dbus-daemon package). */
export const DBUS_DAEMON = '/usr/bin/dbus-daemon';

/**
 * The throwaway manager's user bus units in `unitDir` (they shadow any of the machine's, e.g.
 * dbus-user-session's): with `bus`, `dbus.socket` on `%t/bus`, wanted by `sockets.target`, and
 * `dbus.service` running {@link DBUS_DAEMON} `--session` on it (as dbus-user-session's units);
 * without, `dbus.socket` masked.
 */
export function writeBusUnits(unitDir: string, bus: boolean): void {
  if (!bus) {
    fs.symlinkSync('/dev/null', path.join(unitDir, 'dbus.socket'));
    return;
  }
  if (!fs.existsSync(DBUS_DAEMON))
    throw new Error(`${DBUS_DAEMON} missing (apt-get install -y --no-install-recommends dbus-daemon), or start with { bus: false }`);
  fs.writeFileSync(path.join(unitDir, 'dbus.socket'), ['[Unit]', 'Description=user bus socket (test)', '[Socket]', 'ListenStream=%t/bus', ''].join('\n'));
  fs.writeFileSync(
    path.join(unitDir, 'dbus.service'),
    [
      '[Unit]',
      'Description=user bus (test)',
      'Requires=dbus.socket',
      '[Service]',
      'Type=notify',
      'NotifyAccess=main',
      `ExecStart=${DBUS_DAEMON} --session --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only`,
      '',
    ].join('\n'),
  );
  fs.mkdirSync(path.join(unitDir, 'sockets.target.wants'), { recursive: true });
  fs.symlinkSync(path.join(unitDir, 'dbus.socket'), path.join(unitDir, 'sockets.target.wants', 'dbus.socket'));
}

/** Sends SIGTERM to `pid` (null: nothing); a process already gone is no error. */
export function endByPid(pid: number | null): void {
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** The bus daemon's pid: `dbus.service`'s MainPID as `systemctl` (the manager's) answers, or null when it does not run. */
export async function busDaemonPidOf(systemctl: (args: string[]) => Promise<{ code: number; stdout: string }>): Promise<number | null> {
  const r = await systemctl(['show', 'dbus.service', '--property=MainPID', '--value']);
  const pid = Number(r.stdout.trim());
  return r.code === 0 && Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** The environment keys that name a user manager and its bus to `systemctl --user` and the bus monitor. */
export const MANAGER_ENV_KEYS = ['HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'DBUS_SESSION_BUS_ADDRESS'] as const;

/**
 * Points this process's environment at a throwaway manager (`env`, e.g. `TestSystemd.env()`):
 * each of MANAGER_ENV_KEYS is set to its value there, or deleted when it has none. Code that
 * asks `systemctl --user` with `process.env` then reaches that manager only. Returns the
 * function that puts the previous values back (call it in afterAll).
 */
export function useManagerEnv(env: NodeJS.ProcessEnv): () => void {
  const saved = Object.fromEntries(MANAGER_ENV_KEYS.map((k) => [k, process.env[k]]));
  const set = (from: Record<string, string | undefined>) => {
    for (const k of MANAGER_ENV_KEYS) {
      const v = from[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(env);
  return () => set(saved);
}
