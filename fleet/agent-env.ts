/**
 * Per-agent env files `<home>/fleet/agents/<name>.env` (upstream's generateAgentEnv output:
 * `MOSAIC_AGENT_COMMAND=…`, `MOSAIC_AGENT_MODEL=…`, systemd EnvironmentFile syntax).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readBoundedFile, readListedFile } from '../lib/bounded-read.js';

/**
 * Parses EnvironmentFile-style text: `KEY=value` lines, `#` comments, optional `export `,
 * single or double quotes around the value. Later keys win.
 */
export function parseAgentEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trim();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
      value = value.slice(1, -1);
    }
    env[key] = value;
  }
  return env;
}

/** Most bytes of an agent env file read: a few `KEY=value` lines are far below this. */
export const AGENT_ENV_READ_LIMIT = 64 * 1024;

/**
 * Reads `<agentsDir>/<agent>.env` through {@link readBoundedFile} (regular files only,
 * non-blocking, at most {@link AGENT_ENV_READ_LIMIT} bytes: a FIFO or `/dev/zero` there cannot
 * hang a tick); `{}` when absent, unreadable or larger. Never throws.
 */
export function readAgentEnv(agentsDir: string, agent: string): Record<string, string> {
  const file = path.join(agentsDir, `${agent}.env`);
  // Most agents have no env file: a stat that does not throw costs ~1 µs, a failed read
  // ~9 µs (an Error with a stack), once per agent per tick.
  try {
    if (!fs.statSync(file, { throwIfNoEntry: false })) return {};
    const read = readBoundedFile(file, { maxBytes: AGENT_ENV_READ_LIMIT });
    return read ? parseAgentEnv(read.bytes.toString('utf8')) : {};
  } catch {
    return {};
  }
}

/** Read buffer of {@link readListedAgentEnv}, made at its first use and shared by every read. */
let listedEnvBuffer: Buffer | null = null;

/**
 * {@link readAgentEnv} of `file` (`<agentsDir>/<agent>.env`), which a directory listing just
 * showed as a regular file (one snapshot's plain reads, fleet/run-dir-watch.ts): opened
 * non-blocking, read once into a shared buffer (a regular file's read returns all it has up to
 * the bound), closed — no `stat`, no `fstat`. `{}` when it is gone, larger than
 * {@link AGENT_ENV_READ_LIMIT} or unreadable, as {@link readAgentEnv} answers. A FIFO swapped in
 * after the listing cannot hang the read (non-blocking). Never throws.
 */
export function readListedAgentEnv(file: string): Record<string, string> {
  const buffer = (listedEnvBuffer ??= Buffer.allocUnsafe(AGENT_ENV_READ_LIMIT + 1));
  return readListedFile(file, buffer, (n) => (n > AGENT_ENV_READ_LIMIT ? {} : parseAgentEnv(buffer.toString('utf8', 0, n)))) ?? {};
}

/**
 * Splits a command line into words as a POSIX shell would for the simple cases launchers use:
 * blanks separate words, '…' and "…" quote, a backslash escapes the next character. No
 * expansion. Pure.
 */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i += 1) {
    const ch = command.charAt(i);
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < command.length) word += command.charAt(++i);
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < command.length) {
      word += command.charAt(++i);
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Runtimes `mosaic <runtime>` / `mosaic yolo <runtime>` launch (upstream's launcher). */
const MOSAIC_RUNTIMES = new Set(['claude', 'codex', 'pi', 'opencode']);

/**
 * The program a launch command ends up running, through upstream's launcher wrappers:
 * `exec …`, `env [-i] [-u NAME] [A=B …] …`, leading `A=B` assignments, `nohup …`, `command …`,
 * `sh|bash -c '…'` / `-lc` (the quoted command), and `mosaic [yolo] <runtime> …` (the runtime).
 * Returns the basename, or null when nothing is left. Pure.
 */
export function launchedProgram(command: string, depth = 0): string | null {
  const words = shellWords(command.trim());
  let i = 0;
  for (;;) {
    const w = words[i];
    if (w === undefined) return null;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      i += 1;
      continue;
    }
    const base = path.basename(w);
    if (base === 'exec' || base === 'nohup' || base === 'command') {
      i += 1;
      while (words[i]?.startsWith('-')) i += 1;
      continue;
    }
    if (base === 'env') {
      i += 1;
      for (let opt = words[i]; opt !== undefined && (opt.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(opt)); opt = words[i]) {
        // `-u NAME` / `-C DIR` / `-S STRING` take an argument.
        if (/^-[uCS]$/.test(opt)) i += 1;
        i += 1;
      }
      continue;
    }
    if ((base === 'sh' || base === 'bash' || base === 'dash' || base === 'zsh') && depth < 3) {
      const c = words.findIndex((x, k) => k > i && /^-[a-z]*c[a-z]*$/.test(x));
      const script = words[c + 1];
      if (c > i && script !== undefined) return launchedProgram(script, depth + 1);
      return base;
    }
    if (base === 'mosaic') {
      let k = i + 1;
      if (words[k] === 'yolo') k += 1;
      const runtime = words[k];
      if (runtime && (MOSAIC_RUNTIMES.has(runtime) || words[i + 1] === 'yolo')) return path.basename(runtime);
      return base;
    }
    return base || null;
  }
}

/**
 * The program an agent is expected to run (DRIFT): what `MOSAIC_AGENT_COMMAND` in its
 * `.env` launches, seen through upstream's wrappers ({@link launchedProgram}: `mosaic yolo
 * claude …` ⇒ `claude`, `env A=B exec codex` ⇒ `codex`), else `runtime`.
 */
export function expectedProgram(env: Record<string, string>, runtime: string): string {
  const command = env.MOSAIC_AGENT_COMMAND?.trim();
  if (command) {
    const program = launchedProgram(command);
    if (program && program !== 'mosaic') return program;
  }
  return runtime;
}

/** How an agent is launched, as upstream's launcher decides it. */
export interface AgentLaunch {
  /** The roster's runtime, else `.env` MOSAIC_AGENT_RUNTIME, else `pi`. */
  runtime: string;
  runtimeFrom: 'roster' | 'env' | 'default';
  /** The agent's own roster working_directory, else `.env` MOSAIC_AGENT_WORKDIR, else the roster default. */
  workingDirectory: string | null;
}

/**
 * Resolves an agent's runtime and working directory from its roster entry and its `.env`
 * (upstream's launcher reads MOSAIC_AGENT_RUNTIME, default `pi`, and MOSAIC_AGENT_WORKDIR from
 * it). Pure.
 */
export function agentLaunch(
  agent: { runtime: string; runtimeDeclared?: boolean; workingDirectory: string | null; workingDirectoryDeclared?: boolean },
  env: Record<string, string>,
): AgentLaunch {
  const declared = agent.runtimeDeclared ?? true;
  const envRuntime = env.MOSAIC_AGENT_RUNTIME?.trim() || null;
  const runtime = declared ? agent.runtime : (envRuntime ?? agent.runtime);
  const runtimeFrom = declared ? 'roster' : envRuntime ? 'env' : 'default';
  const envWorkdir = env.MOSAIC_AGENT_WORKDIR?.trim() || null;
  const workingDirectory = agent.workingDirectoryDeclared ? agent.workingDirectory : (envWorkdir ?? agent.workingDirectory);
  return { runtime, runtimeFrom, workingDirectory };
}
