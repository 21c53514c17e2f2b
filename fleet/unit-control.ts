/**
 * Acting on an agent's systemd unit: `systemctl --user <verb> mosaic-agent@<name>.service`
 * on this host, or on the agent's host over its ssh connection (fleet/ssh.ts). The snapshot
 * probe (fleet/systemd.ts) only reads; this module changes unit state.
 */
import { runCommand, type ExecResult } from './exec.js';
import { runRemoteCommand, type RemoteCommandHost } from './ssh.js';

/** The unit verbs the lifecycle actions use. */
export type UnitVerb = 'start' | 'stop' | 'restart';

/**
 * Runs `systemctl --user …args` here (with `env`, default process.env) or, with `remote`, on
 * that host over ssh. Bounded by `timeoutMs` (default 60 000: `start` of a oneshot unit returns
 * when its ExecStart has finished). Never throws; a failure's reason is in `error` (for a local
 * run: `systemctl: <stderr's first line>`, or `systemctl: not found`).
 */
export function runSystemctl(
  args: readonly string[],
  opts: { remote?: RemoteCommandHost | null; timeoutMs?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  if (opts.remote) return runRemoteCommand(opts.remote, ['systemctl', '--user', ...args], { timeoutMs, signal: opts.signal });
  return runCommand('systemctl', ['--user', ...args], { timeoutMs, signal: opts.signal, env: opts.env });
}

/** Human words for a unit action that failed: systemctl's own stderr, without its noise. */
export function systemctlFailure(result: ExecResult): string {
  const first = result.stderr
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  return (first ?? result.error ?? `exit ${result.exitCode ?? '?'}`).replace(/^systemctl: /, '');
}
