import { execa } from 'execa';

/** Result of one subprocess run by a probe or an action. */
export interface ExecResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Wall time, milliseconds. */
  durationMs: number;
  /** Why it failed: "not found", "timed out after 2000 ms", stderr's first line, … */
  error: string | null;
}

let spawned = 0;

/** Number of subprocesses this process has started through {@link runCommand} (tests assert per-snapshot counts). */
export function subprocessCount(): number {
  return spawned;
}

/**
 * Runs a command without a shell, with a timeout (ms) and an optional AbortSignal; never
 * throws for a failed command — the failure is in the result. The child is killed on
 * timeout or abort. `input` is written to stdin when given.
 */
export async function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  spawned++;
  const started = performance.now();
  const result = await execa(file, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 5000,
    cancelSignal: opts.signal,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    env: opts.env,
    extendEnv: true,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  const durationMs = performance.now() - started;
  let error: string | null = null;
  if (result.failed) {
    const code = (result as { code?: string }).code;
    if (code === 'ENOENT') error = `${file}: not found`;
    else if (result.timedOut) error = `${file}: timed out after ${opts.timeoutMs ?? 5000} ms`;
    else if (result.isCanceled) error = `${file}: aborted`;
    else {
      const firstLine = String(result.stderr ?? '').trim().split('\n')[0];
      error = `${file}: ${firstLine || `exit ${result.exitCode ?? result.signal}`}`;
    }
  }
  return {
    ok: !result.failed,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode ?? null,
    durationMs,
    error,
  };
}

/** `-L <socket>` for a named tmux socket, nothing for the default socket (upstream FIX2: absent socket ⇒ no -L). */
export function tmuxSocketArgs(socket: string | null | undefined): string[] {
  return socket ? ['-L', socket] : [];
}

/** Runs `tmux [-L socket] …args` through {@link runCommand}. */
export function runTmux(
  socket: string | null | undefined,
  args: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; input?: string } = {},
): Promise<ExecResult> {
  return runCommand('tmux', [...tmuxSocketArgs(socket), ...args], opts);
}
