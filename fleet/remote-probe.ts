/**
 * Agents on other hosts (roster `host:` + `ssh:`): ONE ssh subprocess per distinct ssh target
 * per snapshot, running a small POSIX sh script on that host that prints, between markers, what
 * the local probes read here — `tmux [-L socket] list-panes -a -F …` per socket of that host's
 * agents, their heartbeat files and per-agent env files (bounded), and the process table (for
 * DRIFT). The output is parsed by ./remote-probe-output.ts with the local parsers, so a remote
 * row is decided by the same classifier. Read-only: nothing is ever written or typed on the
 * remote host. The ssh transport is ./ssh.ts.
 */
import { randomBytes } from 'node:crypto';
import { runProbe } from './exec.js';
import { HEARTBEAT_READ_LIMIT } from './heartbeat.js';
import { parseRemoteProbeOutput, type RemoteHostProbe, type RemoteProbeRequest } from './remote-probe-output.js';
import { isValidAgentName } from './roster.js';
import { DEFAULT_SSH_TIMEOUT_MS, isValidSshTarget, sanitizeReason, shellQuote, sshArgs, sshCommand, sshFailureReason } from './ssh.js';
import { agentUnitName, systemctlShowArgs } from './systemd.js';
import { LIST_PANES_FORMAT } from './tmux.js';

/**
 * The POSIX sh script run on the remote host (fed to `sh -s` on stdin, so the remote login
 * shell only ever parses `sh -s`). Every value from the roster is single-quoted
 * ({@link shellQuote}); every marker line starts with `@@mt-<nonce> ` (a fresh random nonce per
 * call, so no pane title or file content can forge one). Sections, in order:
 * `begin 1`, `now <unix s>`, `run <hex of the remote run dir>`, per socket i `tmux i` + the
 * list-panes lines + `tmux-end i <exit> <hex of stderr ≤512 B>`, per agent `hb <agent> …` and
 * (with processes) `env <agent> …` as `missing` | `notfile` | `unreadable` |
 * `file <size|-> <mtime|-> <hex of the first 4096 bytes>`, then `ps`…`ps-end`, `args`…`args-end`,
 * (with systemd) `systemd` + the `systemctl --user show` output + `systemd-end <exit> <hex of
 * stderr ≤512 B>`, and `end`. The remote run dir is
 * `${MOSAIC_HOME:-$HOME/.config/mosaic}/fleet/run`, evaluated remotely (the remote user's own
 * Mosaic home). Commands read /dev/null, never the script.
 */
export function remoteProbeScript(nonce: string, req: RemoteProbeRequest): string {
  const agents = req.agents.filter(isValidAgentName);
  const lines = [
    'unset TMUX',
    `M=${shellQuote(`@@mt-${nonce}`)}`,
    "hex() { od -An -tx1 -v | tr -d ' \\n'; }",
    // Bounded read of one file, framed on one marker line (the content hex-encoded).
    'rd() {',
    '  if [ ! -e "$1" ] && [ ! -L "$1" ]; then echo "$M $2 missing"',
    '  elif [ ! -f "$1" ]; then echo "$M $2 notfile"',
    '  elif [ ! -r "$1" ]; then echo "$M $2 unreadable"',
    '  else',
    '    st=$(stat -c "%s %Y" "$1" 2>/dev/null </dev/null || stat -f "%z %m" "$1" 2>/dev/null </dev/null) || st="- -"',
    `    echo "$M $2 file $st $(head -c ${HEARTBEAT_READ_LIMIT} "$1" 2>/dev/null </dev/null | hex)"`,
    '  fi',
    '}',
    `F=${shellQuote(LIST_PANES_FORMAT)}`,
    'home="${MOSAIC_HOME:-$HOME/.config/mosaic}"',
    'run="$home/fleet/run"',
    'echo "$M begin 1"',
    'echo "$M now $(date +%s)"',
    'echo "$M run $(printf %s "$run" | hex)"',
  ];
  req.sockets.forEach((socket, i) => {
    const l = socket ? `-L ${shellQuote(socket)} ` : '';
    lines.push(
      `echo "$M tmux ${i}"`,
      // stdout to the real stdout (fd 3), stderr captured; $? is tmux's exit status.
      // -u: without a UTF-8 locale (usual over ssh) tmux prints the \x1f separators as `_`.
      `{ err=$(tmux -u ${l}list-panes -a -F "$F" 2>&1 1>&3 </dev/null); rc=$?; } 3>&1`,
      `printf '\\n%s tmux-end ${i} %s %s\\n' "$M" "$rc" "$(printf %s "$err" | head -c 512 | hex)"`,
    );
  });
  for (const a of agents) lines.push(`rd "$run"/${shellQuote(`${a}.hb`)} ${shellQuote(`hb ${a}`)}`);
  if (req.processes !== false) {
    for (const a of agents) lines.push(`rd "$home/fleet/agents"/${shellQuote(`${a}.env`)} ${shellQuote(`env ${a}`)}`);
    lines.push(
      'echo "$M ps"',
      'ps -e -o pid= -o ppid= -o comm= </dev/null 2>/dev/null',
      `printf '\\n%s ps-end\\n' "$M"`,
      'echo "$M args"',
      'ps -ww -e -o pid= -o args= </dev/null 2>/dev/null',
      `printf '\\n%s args-end\\n' "$M"`,
    );
  }
  if (req.systemd !== false && agents.length) {
    // The same one `systemctl --user show` as here; exit 127 = no systemctl on that host.
    const args = systemctlShowArgs(agents.map(agentUnitName)).map(shellQuote).join(' ');
    lines.push(
      'echo "$M systemd"',
      `{ err=$(systemctl ${args} 2>&1 1>&3 </dev/null); rc=$?; } 3>&1`,
      `printf '\\n%s systemd-end %s %s\\n' "$M" "$rc" "$(printf %s "$err" | head -c 512 | hex)"`,
    );
  }
  lines.push('echo "$M end"', 'exit 0');
  return `${lines.join('\n')}\n`;
}

/** Options of {@link probeRemoteHost}. */
export interface RemoteProbeOptions extends RemoteProbeRequest {
  /** Label of the host in paths and evidence (the roster's `host:`, else the target). */
  hostLabel?: string;
  /** Local run dir: home of the ssh ControlPath (`<runDir>/ssh-%C`); null = no multiplexing. */
  controlDir?: string | null;
  /** Timeout of the whole ssh run, ms (default {@link DEFAULT_SSH_TIMEOUT_MS}); ssh's ConnectTimeout is its ceiling in seconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Environment of ssh and of `MOSAIC_SSH`/`MOSAIC_SSH_CONFIG` (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Unix seconds of now, used when the remote clock is unreadable (default: now). */
  nowSeconds?: number;
}

/**
 * Probes one remote host with exactly ONE ssh subprocess (through {@link runProbe}, no execa):
 * `<MOSAIC_SSH> -o BatchMode=yes -o ConnectTimeout=<s> [ControlMaster options] -- <target> sh -s`
 * with {@link remoteProbeScript} on stdin, then {@link parseRemoteProbeOutput}. Never throws:
 * an invalid target (spawns nothing), a failed ssh (exit 255: refused, denied, unreachable),
 * a timeout or a broken answer give `ok: false` with a sanitized `error`.
 */
export async function probeRemoteHost(target: string, opts: RemoteProbeOptions): Promise<RemoteHostProbe> {
  const empty = { nowSeconds: null, runDir: null, tmux: new Map(), heartbeats: new Map(), agentEnvs: new Map(), processes: null, systemd: null };
  if (!isValidSshTarget(target)) {
    return { target, ok: false, error: 'invalid ssh target (blank, control character or leading -)', durationMs: 0, ...empty };
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SSH_TIMEOUT_MS;
  const env = opts.env ?? process.env;
  const ssh = sshCommand(env);
  const nonce = randomBytes(8).toString('hex');
  const args = sshArgs(ssh, { timeoutMs, controlDir: opts.controlDir ?? null }, target, 'sh -s');
  const result = await runProbe(ssh.file, args, { timeoutMs, signal: opts.signal, env, input: remoteProbeScript(nonce, opts) });
  const fail = (error: string): RemoteHostProbe => ({ target, ok: false, error, durationMs: result.durationMs, ...empty });
  if (result.exitCode === null || result.error?.endsWith(': not found')) {
    // Not started, timed out or aborted: runProbe's words without the program name.
    return fail(sanitizeReason((result.error ?? 'failed').replace(`${ssh.file}: `, '')));
  }
  if (result.exitCode === 255) return fail(sshFailureReason(result.stderr, 'exit 255'));
  const parsed = parseRemoteProbeOutput(result.stdout, nonce, opts, opts.hostLabel ?? target, opts.nowSeconds ?? Date.now() / 1000);
  if ('error' in parsed) {
    const why = result.exitCode === 0 ? parsed.error : `remote script exit ${result.exitCode}`;
    return fail(sshFailureReason(result.stderr, why));
  }
  return { target, ok: true, error: null, durationMs: result.durationMs, ...parsed };
}
