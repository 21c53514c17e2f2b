/**
 * `mosaic-top hooks install [AGENT…] [--dry-run]`, `mosaic-top hooks status [AGENT…]` and the
 * hidden `mosaic-top heartbeat-hook --runtime R` the installed hooks run (issue 9).
 *
 * install: for each agent of the roster (or the ones named), finds its runtime's configuration
 * file (fleet/hook-config.ts) and merges our hooks in — the operator's own hooks are kept, a
 * second run changes nothing and says so, files are written atomically (temp + rename), and
 * `--dry-run` writes nothing. Agents sharing a file (one working directory) are merged once.
 *
 * heartbeat-hook: reads the runtime's event JSON (stdin, bounded; or Codex `notify`'s last
 * argument), maps it (fleet/hook-events.ts) and writes the agent's beat. It ALWAYS exits 0 and
 * prints nothing on stdout (Claude adds a UserPromptSubmit hook's stdout to the model's context).
 */
import { recordSource, transcriptFromHookEvent } from '../../fleet/spend/sources.js';
import { execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { readAgentEnv } from '../../fleet/agent-env.js';
import { beatFromHookEvent, beatFromHookEventPrefix, HOOK_RUNTIMES, type HookBeat, type HookRuntime } from '../../fleet/hook-events.js';
import {
  CLAUDE_HOOK_EVENTS,
  CODEX_HOOK_EVENTS,
  HOOK_COMMAND_MARK,
  HookConfigError,
  hookCommand,
  mergeClaudeStyleHooks,
  mergeOwnedFile,
  opencodePluginText,
  OWNED_FILE_MARK,
  piExtensionText,
  upsertCodexTrust,
  wiredEvents,
  type CodexTrustEntry,
  type HookCommandTarget,
  type MergeResult,
} from '../../fleet/hook-config.js';
import { heartbeatPath, writeHeartbeat } from '../../fleet/heartbeat.js';
import { parseProcStat } from '../../fleet/proc.js';
import { readBoundedFile } from '../../lib/bounded-read.js';
import { messageOf } from '../../lib/errors.js';
import { isValidAgentName, loadRoster, type RosterAgent } from '../../fleet/roster.js';
import { expandHome, resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { packageRoot } from '../../lib/version.js';
import { endGroup, spawnInGroup } from '../../lib/process-group.js';
import { writeFileAtomic as writeTempAndRename } from '../../lib/atomic-write.js';

/** Roster runtime names ⇒ the runtime whose hooks we wire (null: none we know). */
export function hookRuntimeOf(runtime: string): HookRuntime | null {
  const r = runtime.trim().toLowerCase();
  if (r === 'claude' || r === 'claude-code' || r === 'claudecode') return 'claude';
  if (r === 'codex' || r === 'codex-cli') return 'codex';
  if (r === 'opencode' || r === 'opencode-ai') return 'opencode';
  if (r === 'pi' || r === 'pi-coding-agent') return 'pi';
  return null;
}

/**
 * Absolute paths the hooks call: node (process.execPath) and this package's `bin/mosaic-top`
 * (from the package root). Throws when the bin is not found.
 */
export function hookTarget(mosaicHome: string): HookCommandTarget {
  const bin = path.join(packageRoot(), 'bin', 'mosaic-top');
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: reinstall mosaic-top`);
  return { node: process.execPath, bin: fs.realpathSync(bin), mosaicHome };
}

/** One configuration file to write for one or more agents. */
export interface HookPlanItem {
  runtime: HookRuntime;
  agents: string[];
  file: string;
  /** Why this file (e.g. `working_directory`, `$HOME`, `CODEX_HOME`). */
  source: string;
}

/** An agent that gets no file, and why. */
export interface HookSkip {
  agent: string;
  why: string;
  /** True when the agent's configuration is wrong (a working directory that does not exist): `hooks install` exits 1. */
  refused?: boolean;
}

/**
 * Where each agent's runtime configuration lives. Claude: `<workdir>/.claude/settings.json`
 * (roster `working_directory`, else `MOSAIC_AGENT_WORKDIR` of the agent's env file), else
 * `$HOME/.claude/settings.json`. Codex: `$CODEX_HOME/hooks.json` (agent env), else
 * `$HOME/.codex/hooks.json`. opencode: `<XDG_CONFIG_HOME or $HOME/.config>/opencode/plugin/
 * mosaic-top-heartbeat.js`. pi: `$HOME/.pi/agent/extensions/mosaic-top-heartbeat.ts`. Remote
 * agents and unknown runtimes are skipped with the reason. A relative working directory is
 * resolved against the Mosaic home `mosaicHome` (where the roster lives), never the caller's
 * cwd; one that does not exist (or is not a directory) is refused (`refused: true`, the
 * reason): the hooks would configure a directory the agent never runs in, so nothing is made.
 */
export function planHookFiles(
  agents: RosterAgent[],
  agentsDir: string,
  env: NodeJS.ProcessEnv = process.env,
  mosaicHome: string = path.resolve(agentsDir, '..', '..'),
): { items: HookPlanItem[]; skipped: HookSkip[] } {
  const home = env.HOME || os.homedir();
  const byFile = new Map<string, HookPlanItem>();
  const skipped: HookSkip[] = [];
  for (const agent of agents) {
    if (agent.host) {
      skipped.push({ agent: agent.name, why: `remote (host ${agent.host}): run \`mosaic-top hooks install ${agent.name}\` on that host` });
      continue;
    }
    const runtime = hookRuntimeOf(agent.runtime);
    if (!runtime) {
      skipped.push({ agent: agent.name, why: `runtime "${agent.runtime}" has no hooks mosaic-top knows (claude, codex, opencode, pi)` });
      continue;
    }
    const agentEnv = readAgentEnv(agentsDir, agent.name);
    let file: string;
    let source: string;
    if (runtime === 'claude') {
      const wd = agent.workingDirectory ?? agentEnv.MOSAIC_AGENT_WORKDIR ?? null;
      if (wd) {
        source = agent.workingDirectory ? 'working_directory' : 'MOSAIC_AGENT_WORKDIR';
        const dir = path.resolve(mosaicHome, expandHome(wd, home));
        const problem = directoryProblem(dir);
        if (problem) {
          skipped.push({ agent: agent.name, why: `${source} ${dir} ${problem}: create it or fix the roster; nothing written`, refused: true });
          continue;
        }
        file = path.join(dir, '.claude', 'settings.json');
      } else {
        file = path.join(home, '.claude', 'settings.json');
        source = '$HOME (no working directory known)';
      }
    } else if (runtime === 'codex') {
      const codexHome = agentEnv.CODEX_HOME ? path.resolve(expandHome(agentEnv.CODEX_HOME, home)) : path.join(home, '.codex');
      file = path.join(codexHome, 'hooks.json');
      source = agentEnv.CODEX_HOME ? 'CODEX_HOME' : '$HOME/.codex';
    } else if (runtime === 'opencode') {
      const config = agentEnv.XDG_CONFIG_HOME ? path.resolve(expandHome(agentEnv.XDG_CONFIG_HOME, home)) : path.join(home, '.config');
      file = path.join(config, 'opencode', 'plugin', 'mosaic-top-heartbeat.js');
      source = agentEnv.XDG_CONFIG_HOME ? 'XDG_CONFIG_HOME' : '$HOME/.config';
    } else {
      file = path.join(home, '.pi', 'agent', 'extensions', 'mosaic-top-heartbeat.ts');
      source = '$HOME/.pi';
    }
    const existing = byFile.get(file);
    if (existing) existing.agents.push(agent.name);
    else byFile.set(file, { runtime, agents: [agent.name], file, source });
  }
  return { items: [...byFile.values()], skipped };
}

/** Why `dir` cannot hold an agent's configuration (`does not exist`, `is not a directory`, the errno), or null when it is a directory. */
function directoryProblem(dir: string): string | null {
  try {
    return fs.statSync(dir).isDirectory() ? null : 'is not a directory';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (error as Error).message})`;
  }
}

/** Largest config file `hooks install` reads (settings.json, hooks.json, config.toml), bytes. */
const HOOK_CONFIG_READ_LIMIT = 4 * 1024 * 1024;

/** Reads a runtime's config file through the one bounded reader; null when absent. Throws HookConfigError naming the path and cause. */
function readIfExists(file: string): string | null {
  try {
    return readBoundedFile(file, { maxBytes: HOOK_CONFIG_READ_LIMIT })?.bytes.toString('utf8') ?? null;
  } catch (error) {
    throw new HookConfigError(`cannot read ${messageOf(error, file)}`);
  }
}

/**
 * Where a write to `file` must land: `file` itself, or — when it is a symlink (dotfiles kept by
 * stow or chezmoi) — the file the link chain points to, so the link stays and its target gets
 * the change. A dangling link resolves to its (missing) target. Throws HookConfigError for a
 * link loop or a target that is not a regular file.
 */
export function writeTargetOf(file: string): string {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw new HookConfigError(`cannot write ${messageOf(error, current)}`);
    }
    if (!st.isSymbolicLink()) {
      if (!st.isFile()) throw new HookConfigError(`cannot write ${file}: ${current} is not a regular file; nothing changed`);
      return current;
    }
    current = path.resolve(path.dirname(current), fs.readlinkSync(current));
  }
  throw new HookConfigError(`cannot write ${file}: too many symlinks (a loop?); nothing changed`);
}

/** The merge of one plan item (pure over the file's current text). */
export function mergeFor(item: HookPlanItem, existing: string | null, target: HookCommandTarget): MergeResult {
  switch (item.runtime) {
    case 'claude':
      return mergeClaudeStyleHooks(existing, CLAUDE_HOOK_EVENTS, hookCommand('claude', target), item.file);
    case 'codex':
      return mergeClaudeStyleHooks(existing, CODEX_HOOK_EVENTS, hookCommand('codex', target), item.file);
    case 'opencode':
      return mergeOwnedFile(existing, opencodePluginText(target), item.file);
    case 'pi':
      return mergeOwnedFile(existing, piExtensionText(target), item.file);
  }
}

/**
 * Writes `text` to `file` atomically (temp file in the same dir, then rename), keeping an
 * existing file's mode. A symlinked `file` keeps its link: the write goes to the link's target
 * ({@link writeTargetOf}), atomically in the target's directory.
 */
export function writeFileAtomic(linkOrFile: string, text: string): void {
  const file = writeTargetOf(linkOrFile);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let mode = 0o644;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    /* new file */
  }
  writeTempAndRename(file, text, { mode });
}

function selectAgents(rosterFile: string, names: string[], runtimeOverride: string | undefined): RosterAgent[] {
  const loaded = loadRoster(rosterFile);
  if (!loaded.ok) {
    if (names.length && runtimeOverride) {
      return names.map((name) => ({
        name,
        runtime: runtimeOverride,
        class: null,
        modelHint: null,
        host: null,
        ssh: null,
        socket: null,
        workingDirectory: null,
      }));
    }
    throw new Error(`${loaded.errors[0]}${names.length ? " (or pass --runtime to name the agents' runtime)" : ''}`);
  }
  if (!names.length) return loaded.roster.agents;
  return names.map((name) => {
    const found = loaded.roster.agents.find((a) => a.name === name);
    if (found) return runtimeOverride ? { ...found, runtime: runtimeOverride } : found;
    if (runtimeOverride) return { name, runtime: runtimeOverride, class: null, modelHint: null, host: null, ssh: null, socket: null, workingDirectory: null };
    throw new Error(`agent "${sanitizeLine(name)}" is not in the roster ${rosterFile}: add it, or pass --runtime`);
  });
}

/** Result of one file in `hooks install`. */
export interface HookInstallResult extends HookPlanItem {
  changed: boolean;
  changes: string[];
  written: boolean;
  error: string | null;
}

/**
 * Installs (or, with `dryRun`, plans) the hooks of `items`. Never throws for one file: its
 * error is in the result and the others go on.
 */
export function installHooks(items: HookPlanItem[], target: HookCommandTarget, dryRun: boolean): HookInstallResult[] {
  return items.map((item) => {
    try {
      const existing = readIfExists(item.file);
      const merged = mergeFor(item, existing, target);
      if (merged.changed && !dryRun) writeFileAtomic(item.file, merged.text);
      return { ...item, changed: merged.changed, changes: merged.changes, written: merged.changed && !dryRun, error: null };
    } catch (error) {
      return { ...item, changed: false, changes: [], written: false, error: error instanceof HookConfigError ? error.message : messageOf(error, item.file) };
    }
  });
}

/** Per-file wiring state for `hooks status`. */
export interface HookStatus extends HookPlanItem {
  /** wired (every event ours), partial, outdated (ours, another mosaic-top path), not wired, unreadable. */
  state: 'wired' | 'partial' | 'outdated' | 'not wired' | 'unreadable';
  detail: string;
}

/** How wired each item is (reads the files; never writes). */
export function hookStatus(items: HookPlanItem[], target: HookCommandTarget): HookStatus[] {
  return items.map((item) => {
    let text: string | null;
    try {
      text = readIfExists(item.file);
    } catch (error) {
      return { ...item, state: 'unreadable', detail: (error as Error).message };
    }
    if (item.runtime === 'opencode' || item.runtime === 'pi') {
      if (text === null) return { ...item, state: 'not wired', detail: 'no file' };
      if (!text.includes(OWNED_FILE_MARK)) return { ...item, state: 'not wired', detail: 'a file not written by mosaic-top is there' };
      const wanted = item.runtime === 'opencode' ? opencodePluginText(target) : piExtensionText(target);
      return text === wanted
        ? { ...item, state: 'wired', detail: 'plugin file up to date' }
        : { ...item, state: 'outdated', detail: 'written by another mosaic-top install: run hooks install' };
    }
    const events = item.runtime === 'claude' ? CLAUDE_HOOK_EVENTS : CODEX_HOOK_EVENTS;
    const wired = wiredEvents(text, events);
    if (wired === null) return { ...item, state: 'unreadable', detail: `${item.file}: not valid JSON` };
    const missing = events.map((e) => e.event).filter((e) => !wired.includes(e));
    if (wired.length === 0) return { ...item, state: 'not wired', detail: text === null ? 'no file' : 'no mosaic-top hooks' };
    if (missing.length) return { ...item, state: 'partial', detail: `missing ${missing.join(', ')}` };
    const merged = mergeFor(item, text, target);
    if (merged.changed) return { ...item, state: 'outdated', detail: 'hooks call another mosaic-top install: run hooks install' };
    if (item.runtime === 'codex') {
      // Codex runs them only once trusted: count our tables in its config.toml (the digests
      // themselves only Codex can check).
      let config = '';
      try {
        config = readIfExists(path.join(path.dirname(item.file), 'config.toml')) ?? '';
      } catch {
        /* unreadable: counted as none */
      }
      const prefix = `[hooks.state.${JSON.stringify(item.file).slice(0, -1)}:`;
      const trusted = config.split('\n').filter((l) => l.trim().startsWith(prefix)).length;
      const trust =
        trusted >= wired.length
          ? `trusted in config.toml`
          : `${trusted}/${wired.length} trusted in config.toml: Codex will ask to review them (run hooks install with codex on PATH)`;
      return { ...item, state: 'wired', detail: `${wired.length} events; ${trust}` };
    }
    return { ...item, state: 'wired', detail: `${wired.length} events` };
  });
}

/** The codex program to ask for hook hashes: `$MOSAIC_CODEX_BIN`, else `codex` on PATH; null when none. */
export function findCodexBin(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.MOSAIC_CODEX_BIN) return env.MOSAIC_CODEX_BIN;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, 'codex');
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * Asks Codex itself for the trust hashes of our hooks in `hooksFile`: runs `<codex> app-server`
 * with `CODEX_HOME=<codexHome>` and does its JSON-RPC handshake (`initialize`, `initialized`,
 * `hooks/list`), bounded by `timeoutMs` (default 15 000); then its whole process group is
 * killed and its pipes released (lib/process-group.ts). Returns the
 * `key`/`currentHash` of every listed hook whose source is `hooksFile` and whose command is ours.
 * Throws with the cause (spawn failure, timeout, no such hooks listed).
 */
export function codexHookHashes(codexBin: string, codexHome: string, hooksFile: string, timeoutMs = 15_000): Promise<CodexTrustEntry[]> {
  return new Promise((resolve, reject) => {
    // Its own process group: the bound ends codex and whatever it started (a child left
    // holding the pipes kept this command waiting 12 minutes).
    const child = spawnInGroup(codexBin, ['app-server'], {
      env: { ...process.env, CODEX_HOME: codexHome },
      cwd: codexHome,
      stdio: ['pipe', 'pipe', 'pipe'],
    }) as ChildProcessWithoutNullStreams;
    let buf = '';
    let stderr = '';
    let done = false;
    const finish = (error: Error | null, entries: CodexTrustEntry[] = []) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // The whole group, and our ends of the pipes: nothing waits on what a member still holds.
      endGroup(child);
      if (error) reject(error);
      else resolve(entries);
    };
    const timer = setTimeout(
      () =>
        finish(new Error(`codex app-server gave no hooks/list answer within ${timeoutMs} ms${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`)),
      timeoutMs,
    );
    const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
    child.on('error', (error) => finish(new Error(`cannot run ${codexBin} app-server: ${error.message}`)));
    child.on('exit', (code) =>
      finish(new Error(`codex app-server exited (${code}) before answering${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`)),
    );
    child.stdin.on('error', () => {});
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        let message: { id?: unknown; error?: unknown; result?: { data?: unknown } } | null;
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          continue;
        }
        if (message?.id === 1) {
          send({ jsonrpc: '2.0', method: 'initialized', params: {} });
          send({ jsonrpc: '2.0', id: 2, method: 'hooks/list', params: { cwds: [codexHome] } });
        } else if (message?.id === 2) {
          if (message.error) return finish(new Error(`codex hooks/list: ${JSON.stringify(message.error).slice(0, 200)}`));
          type ListedHook = { key?: unknown; currentHash?: unknown; sourcePath?: unknown; command?: unknown };
          const data: unknown[] = Array.isArray(message.result?.data) ? (message.result.data as unknown[]) : [];
          const hooks = data.flatMap((d) => {
            const h = (d as { hooks?: unknown } | null)?.hooks;
            return Array.isArray(h) ? (h as ListedHook[]) : [];
          });
          const ours = hooks.filter(
            (h) =>
              typeof h?.key === 'string' &&
              typeof h?.currentHash === 'string' &&
              h.sourcePath === hooksFile &&
              typeof h.command === 'string' &&
              h.command.includes(HOOK_COMMAND_MARK),
          );
          const unique = new Map<string, string>(ours.map((h) => [h.key as string, h.currentHash as string]));
          if (!unique.size) return finish(new Error(`codex lists none of our hooks from ${hooksFile}`));
          return finish(
            null,
            [...unique].map(([key, hash]) => ({ key, hash })),
          );
        }
      }
    });
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'mosaic-top', version: '1' } } });
  });
}

/** Result of trusting one Codex hooks.json. */
export interface CodexTrustResult {
  configFile: string;
  changes: string[];
  error: string | null;
}

/**
 * Writes Codex's trust for our hooks in `hooksFile` into `<codexHome>/config.toml` (atomically),
 * with the hashes Codex itself computes (see {@link codexHookHashes}), so Codex starts without
 * its "Hooks need review" screen. Never throws: the cause is in `error`.
 */
export async function trustCodexHooks(codexBin: string, hooksFile: string): Promise<CodexTrustResult> {
  const codexHome = path.dirname(hooksFile);
  const configFile = path.join(codexHome, 'config.toml');
  try {
    const entries = await codexHookHashes(codexBin, codexHome, hooksFile);
    const merged = upsertCodexTrust(readIfExists(configFile), entries);
    if (merged.changed) writeFileAtomic(configFile, merged.text);
    return { configFile, changes: merged.changes, error: null };
  } catch (error) {
    return { configFile, changes: [], error: (error as Error).message };
  }
}

const CODEX_TRUST_NOTE = 'Codex will show "Hooks need review" once for these hooks: approve them there (docs/heartbeat.md)';

/** Registers `hooks install`, `hooks status` and the hidden `heartbeat-hook`. */
export function registerHooksCommands(program: Command): void {
  const hooks = program.command('hooks').description("wire agents' runtimes (Claude Code, Codex, opencode, pi) to the heartbeat protocol");
  hooks
    .command('install')
    .description("merge heartbeat hooks into each agent's runtime configuration (keeps your hooks; idempotent)")
    .argument('[agents...]', 'agent names (default: every local agent of the roster)')
    .option('--dry-run', 'print what would change; write nothing')
    .addOption(new Option('--runtime <runtime>', 'runtime of the named agents (when they are not in the roster)').choices([...HOOK_RUNTIMES]))
    .option('--no-codex-trust', 'do not ask Codex for its hook hashes (Codex will show its review screen)')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const o = cmd.opts() as { dryRun?: boolean; runtime?: string; codexTrust?: boolean };
      const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
      let agents: RosterAgent[];
      let target: HookCommandTarget;
      try {
        agents = selectAgents(paths.roster, names, o.runtime);
        target = hookTarget(paths.mosaicHome);
      } catch (error) {
        process.stderr.write(`mosaic-top hooks install: ${(error as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const plan = planHookFiles(agents, paths.agentsDir, process.env, paths.mosaicHome);
      const results = installHooks(plan.items, target, !!o.dryRun);
      // Codex: trust our hooks with Codex's own hashes so no review screen opens.
      const trust = new Map<string, CodexTrustResult | string>();
      const codexBin = findCodexBin();
      for (const r of results) {
        if (r.runtime !== 'codex' || r.error) continue;
        if (o.dryRun) trust.set(r.file, `(dry run) would ask ${codexBin ?? 'codex (not found on PATH)'} for the hooks' hashes and trust them in config.toml`);
        else if (o.codexTrust === false) trust.set(r.file, CODEX_TRUST_NOTE);
        else if (!codexBin) trust.set(r.file, `codex not found on PATH (or $MOSAIC_CODEX_BIN): ${CODEX_TRUST_NOTE}`);
        else trust.set(r.file, await trustCodexHooks(codexBin, r.file));
      }
      if (g.json) {
        process.stdout.write(`${JSON.stringify({ dryRun: !!o.dryRun, files: results, codexTrust: Object.fromEntries(trust), skipped: plan.skipped })}\n`);
      } else {
        const verb = o.dryRun ? '(dry run) would write: ' : '';
        for (const r of results) {
          const who = `${r.agents.join(',')} (${r.runtime})`;
          if (r.error) process.stdout.write(`${who}: ${sanitizeLine(r.error)}\n`);
          else if (r.changed) process.stdout.write(`${who}: ${r.file}: ${verb}${r.changes.join(', ')}\n`);
          else process.stdout.write(`${who}: ${r.file}: unchanged (already wired)\n`);
          const t = trust.get(r.file);
          if (typeof t === 'string') process.stdout.write(`  codex trust: ${t}\n`);
          else if (t && t.error) process.stdout.write(`  codex trust: ${sanitizeLine(t.error)}; ${CODEX_TRUST_NOTE}\n`);
          else if (t) process.stdout.write(`  codex trust: ${t.configFile}: ${t.changes.length ? t.changes.join(', ') : 'unchanged (already trusted)'}\n`);
          if (r.runtime === 'opencode' && r.changed && !r.error)
            process.stdout.write('  note: opencode loads it at its next start (a first start with a plugin dir may try `npm install @opencode-ai/plugin`)\n');
        }
        for (const s of plan.skipped)
          if (s.refused) process.stderr.write(`mosaic-top hooks install: ${s.agent}: refused: ${sanitizeLine(s.why)}\n`);
          else process.stdout.write(`${s.agent}: skipped: ${sanitizeLine(s.why)}\n`);
        const changed = results.filter((r) => r.changed).length;
        const failed = results.filter((r) => r.error).length;
        process.stdout.write(
          o.dryRun
            ? `dry run: ${changed} file(s) would change, ${results.length - changed - failed} already wired; nothing written\n`
            : `${changed} file(s) changed, ${results.length - changed - failed} already wired${failed ? `, ${failed} failed` : ''}\n`,
        );
      }
      if (results.some((r) => r.error) || plan.skipped.some((s) => s.refused)) process.exitCode = 1;
    });
  hooks
    .command('status')
    .description("say per agent whether its runtime configuration calls mosaic-top's heartbeat hooks")
    .argument('[agents...]', 'agent names (default: every local agent of the roster)')
    .action((names: string[], _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
      let agents: RosterAgent[];
      let target: HookCommandTarget;
      try {
        agents = selectAgents(paths.roster, names, undefined);
        target = hookTarget(paths.mosaicHome);
      } catch (error) {
        process.stderr.write(`mosaic-top hooks status: ${(error as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const plan = planHookFiles(agents, paths.agentsDir, process.env, paths.mosaicHome);
      const status = hookStatus(plan.items, target);
      if (g.json) {
        process.stdout.write(`${JSON.stringify({ files: status, skipped: plan.skipped })}\n`);
        return;
      }
      for (const s of status) process.stdout.write(`${s.agents.join(',')} (${s.runtime}): ${s.state}: ${s.file} (${sanitizeLine(s.detail)})\n`);
      for (const s of plan.skipped) process.stdout.write(`${s.agent}: skipped: ${sanitizeLine(s.why)}\n`);
    });

  program
    .command('heartbeat-hook', { hidden: true })
    .description('internal: run by runtime hooks; maps the event JSON (stdin or last argument) to a heartbeat')
    .addOption(new Option('--runtime <runtime>').choices([...HOOK_RUNTIMES]).makeOptionMandatory())
    .option('--agent <name>', 'agent name (default: $MOSAIC_AGENT_NAME, else the tmux session the hook runs in)')
    .argument('[payload]', 'event JSON (Codex notify passes it as the last argument)')
    .action(async (payloadArg: string | undefined, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const o = cmd.opts() as { runtime: HookRuntime; agent?: string };
      try {
        await runHeartbeatHook(o.runtime, o.agent, payloadArg, g.mosaicHome);
      } catch (error) {
        process.stderr.write(`mosaic-top heartbeat-hook: ${sanitizeLine((error as Error).message)}\n`);
      }
      // Never fail the runtime's hook.
      process.exitCode = 0;
    });
}

/** Most bytes of hook input read (Claude payloads are a few KB); a larger event is read from this prefix. */
const HOOK_STDIN_LIMIT = 1024 * 1024;
/** How long the hook waits for its stdin to end, ms. */
const HOOK_STDIN_TIMEOUT_MS = 3000;

/** Hook input: its first {@link HOOK_STDIN_LIMIT} bytes and its whole size in bytes. */
interface HookInput {
  text: string;
  size: number;
}

/**
 * Reads stdin: keeps the first {@link HOOK_STDIN_LIMIT} bytes, counts (and discards) the rest
 * so the runtime's write never meets a closed pipe, and stops at its end or after
 * {@link HOOK_STDIN_TIMEOUT_MS}. Empty for a TTY.
 */
function readStdinBounded(): Promise<HookInput> {
  if (process.stdin.isTTY) return Promise.resolve({ text: '', size: 0 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      clearTimeout(timer);
      process.stdin.removeAllListeners();
      process.stdin.destroy();
      resolve({ text: Buffer.concat(chunks).subarray(0, HOOK_STDIN_LIMIT).toString('utf8'), size });
    };
    const timer = setTimeout(finish, HOOK_STDIN_TIMEOUT_MS);
    process.stdin.on('data', (c: Buffer) => {
      if (size < HOOK_STDIN_LIMIT) chunks.push(c);
      size += c.length;
    });
    process.stdin.on('end', finish);
    process.stdin.on('error', finish);
  });
}

/** The event a hook was given ⇒ its beat (null: none) and payload; a prefix when it was over the limit. */
function hookEventOf(runtime: HookRuntime, input: HookInput): { beat: HookBeat | null; payload: unknown } {
  if (input.size > HOOK_STDIN_LIMIT) return beatFromHookEventPrefix(runtime, input.text, input.size);
  let payload: unknown = {};
  if (input.text.trim()) {
    try {
      payload = JSON.parse(input.text);
    } catch {
      throw new Error(`${runtime} hook input is not JSON (${input.text.length} bytes)`);
    }
  }
  return { beat: beatFromHookEvent(runtime, payload), payload };
}

/** The tmux session this process runs in ($TMUX's server, $TMUX_PANE's session), or null. Bounded (2 s). */
function tmuxSessionName(): string | null {
  if (!process.env.TMUX) return null;
  try {
    const args = ['display-message', '-p'];
    if (process.env.TMUX_PANE) args.push('-t', process.env.TMUX_PANE);
    args.push('#{session_name}');
    const out = execFileSync('tmux', args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || null;
  } catch {
    return null;
  }
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'busybox']);

/** The runtime's pid: our parent, or the first non-shell ancestor (hooks run through `sh -c`). */
function runtimePid(): number | null {
  let pid = process.ppid;
  for (let i = 0; i < 4 && pid > 1; i++) {
    let entry;
    try {
      entry = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return pid;
    }
    if (!entry) return pid;
    if (!SHELLS.has(entry.comm)) return pid;
    pid = entry.ppid;
  }
  return pid > 1 ? pid : null;
}

/** The reason already in an agent's beat when it is `state=waiting`, else null. */
function currentWaitingReason(runDir: string, agent: string): string | null {
  try {
    const text = readBoundedFile(heartbeatPath(runDir, agent), { maxBytes: 4096, truncate: true })?.bytes.toString('utf8') ?? '';
    const get = (k: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${k}=`))
        ?.slice(k.length + 1)
        .trim() ?? null;
    return get('state') === 'waiting' ? get('reason') : null;
  } catch {
    return null;
  }
}

/**
 * The hook's work: payload ⇒ beat ⇒ `<run>/<agent>.hb`. Throws on a problem (the caller
 * reports it on stderr and still exits 0).
 */
export async function runHeartbeatHook(
  runtime: HookRuntime,
  agentOpt: string | undefined,
  payloadArg: string | undefined,
  mosaicHome: string | undefined,
): Promise<void> {
  const input = payloadArg !== undefined ? { text: payloadArg, size: Buffer.byteLength(payloadArg) } : await readStdinBounded();
  const { beat, payload } = hookEventOf(runtime, input);
  const transcript = transcriptFromHookEvent(runtime, payload, Date.now());
  if (!beat && !transcript) return;
  const agent = agentOpt ?? (process.env.MOSAIC_AGENT_NAME || null) ?? tmuxSessionName();
  if (!agent) throw new Error("no agent name: set MOSAIC_AGENT_NAME in the agent's environment, or run the agent in a tmux session named after it");
  if (!isValidAgentName(agent)) throw new Error(`agent name "${agent}" is not valid`);
  const paths = resolvePaths({ mosaicHome });
  // The spend meter's exact evidence of which record file is this agent's.
  if (transcript) recordSource(paths.runDir, agent, transcript);
  if (!beat) return;
  let reason = beat.reason;
  if (beat.keepWaitingReason) reason = currentWaitingReason(paths.runDir, agent) ?? reason;
  writeHeartbeat(paths.runDir, agent, { state: beat.state, reason, note: beat.note, interval: 600, pid: runtimePid() });
}
