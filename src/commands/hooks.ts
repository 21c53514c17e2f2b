/**
 * `mosaic-top hooks install [AGENT…] [--dry-run]`, `mosaic-top hooks status [AGENT…]` and the
 * hidden `mosaic-top heartbeat-hook --runtime R` the installed hooks run: the verbs' options and
 * output. The work is fleet/hooks-install/ (plan, merge, Codex trust, the hook's beat).
 *
 * install: for each agent of the roster (or the ones named), finds its runtime's configuration
 * file and merges our hooks in — the operator's own hooks are kept, a second run changes nothing
 * and says so, files are written atomically, and `--dry-run` writes nothing. Agents sharing a
 * file (one working directory) are merged once.
 *
 * heartbeat-hook: reads the runtime's event JSON (stdin, bounded; or Codex `notify`'s last
 * argument) and writes the agent's beat. It ALWAYS exits 0 and prints nothing on stdout (Claude
 * adds a UserPromptSubmit hook's stdout to the model's context).
 */
import { Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import type { HookCommandTarget } from '../../fleet/hook-config.js';
import { HOOK_RUNTIMES, type HookRuntime } from '../../fleet/hook-events.js';
import { findCodexBin, trustCodexHooks, type CodexTrustResult } from '../../fleet/hooks-install/codex-trust.js';
import { HOOK_INPUT_LIMIT, runHeartbeatHook, type HookInput } from '../../fleet/hooks-install/heartbeat-hook.js';
import { runStatuslineHook } from '../../fleet/hooks-install/statusline-hook.js';
import { hookStatus, installHooks, type HookInstallResult } from '../../fleet/hooks-install/install.js';
import { hookTarget, planHookFiles, selectAgents, type HookSkip } from '../../fleet/hooks-install/plan.js';
import type { RosterAgent } from '../../fleet/roster.js';
import { messageOf } from '../../lib/errors.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';

const CODEX_TRUST_NOTE = 'Codex will show "Hooks need review" once for these hooks: approve them there (docs/heartbeat.md)';

/** Options of `hooks install`. */
interface InstallOptions {
  dryRun?: boolean;
  runtime?: string;
  codexTrust?: boolean;
  statusline?: boolean;
}

/**
 * The paths, agents and hook target of `hooks <verb>`; null after writing
 * `mosaic-top hooks <verb>: <cause>` to stderr with exit code 2 (no roster, an unknown agent, no bin).
 */
function hooksContext(
  verb: string,
  g: GlobalOptions,
  names: string[],
  runtime: string | undefined,
): { paths: MosaicPaths; agents: RosterAgent[]; target: HookCommandTarget } | null {
  const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
  try {
    return { paths, agents: selectAgents(paths.roster, names, runtime), target: hookTarget(paths.mosaicHome) };
  } catch (error) {
    process.stderr.write(`mosaic-top hooks ${verb}: ${messageOf(error)}\n`);
    process.exitCode = 2;
    return null;
  }
}

/** Codex trust per written hooks.json: the result of asking Codex, or a note why it was not asked. */
async function codexTrustOf(results: HookInstallResult[], o: InstallOptions): Promise<Map<string, CodexTrustResult | string>> {
  const trust = new Map<string, CodexTrustResult | string>();
  const codexBin = findCodexBin();
  for (const r of results) {
    if (r.runtime !== 'codex' || r.error) continue;
    if (o.dryRun) trust.set(r.file, `(dry run) would ask ${codexBin ?? 'codex (not found on PATH)'} for the hooks' hashes and trust them in config.toml`);
    else if (o.codexTrust === false) trust.set(r.file, CODEX_TRUST_NOTE);
    else if (!codexBin) trust.set(r.file, `codex not found on PATH (or $MOSAIC_CODEX_BIN): ${CODEX_TRUST_NOTE}`);
    else trust.set(r.file, await trustCodexHooks(codexBin, r.file));
  }
  return trust;
}

/** The text report of `hooks install`: one line per file (and its Codex trust), the skipped agents, a total. */
function printInstall(results: HookInstallResult[], skipped: HookSkip[], trust: Map<string, CodexTrustResult | string>, dryRun: boolean): void {
  const verb = dryRun ? '(dry run) would write: ' : '';
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
  for (const s of skipped)
    if (s.refused) process.stderr.write(`mosaic-top hooks install: ${s.agent}: refused: ${sanitizeLine(s.why)}\n`);
    else process.stdout.write(`${s.agent}: skipped: ${sanitizeLine(s.why)}\n`);
  const changed = results.filter((r) => r.changed).length;
  const failed = results.filter((r) => r.error).length;
  process.stdout.write(
    dryRun
      ? `dry run: ${changed} file(s) would change, ${results.length - changed - failed} already wired; nothing written\n`
      : `${changed} file(s) changed, ${results.length - changed - failed} already wired${failed ? `, ${failed} failed` : ''}\n`,
  );
}

/** `hooks install`: plan, merge (or plan only), trust Codex's hooks, report; exit 1 when a file failed or an agent was refused. */
async function runInstall(names: string[], g: GlobalOptions, o: InstallOptions): Promise<void> {
  const ctx = hooksContext('install', g, names, o.runtime);
  if (!ctx) return;
  const plan = planHookFiles(ctx.agents, ctx.paths.agentsDir, process.env, ctx.paths.mosaicHome);
  const results = installHooks(plan.items, ctx.target, !!o.dryRun, !!o.statusline);
  // Codex: trust our hooks with Codex's own hashes so no review screen opens.
  const trust = await codexTrustOf(results, o);
  if (g.json) process.stdout.write(`${JSON.stringify({ dryRun: !!o.dryRun, files: results, codexTrust: Object.fromEntries(trust), skipped: plan.skipped })}\n`);
  else printInstall(results, plan.skipped, trust, !!o.dryRun);
  if (results.some((r) => r.error) || plan.skipped.some((s) => s.refused)) process.exitCode = 1;
}

/** `hooks status`: how wired each agent's file is, as text or JSON. */
function runStatus(names: string[], g: GlobalOptions): void {
  const ctx = hooksContext('status', g, names, undefined);
  if (!ctx) return;
  const plan = planHookFiles(ctx.agents, ctx.paths.agentsDir, process.env, ctx.paths.mosaicHome);
  const status = hookStatus(plan.items, ctx.target);
  if (g.json) {
    process.stdout.write(`${JSON.stringify({ files: status, skipped: plan.skipped })}\n`);
    return;
  }
  for (const s of status) process.stdout.write(`${s.agents.join(',')} (${s.runtime}): ${s.state}: ${s.file} (${sanitizeLine(s.detail)})\n`);
  for (const s of plan.skipped) process.stdout.write(`${s.agent}: skipped: ${sanitizeLine(s.why)}\n`);
}

/** How long the hook waits for its stdin to end, ms. */
const HOOK_STDIN_TIMEOUT_MS = 3000;

/**
 * Reads stdin: keeps the first {@link HOOK_INPUT_LIMIT} bytes, counts (and discards) the rest
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
      resolve({ text: Buffer.concat(chunks).subarray(0, HOOK_INPUT_LIMIT).toString('utf8'), size });
    };
    const timer = setTimeout(finish, HOOK_STDIN_TIMEOUT_MS);
    process.stdin.on('data', (c: Buffer) => {
      if (size < HOOK_INPUT_LIMIT) chunks.push(c);
      size += c.length;
    });
    process.stdin.on('end', finish);
    process.stdin.on('error', finish);
  });
}

/** `heartbeat-hook`: the event from the last argument or stdin ⇒ the agent's beat; a problem goes to stderr, the exit code is always 0. */
async function runHook(payloadArg: string | undefined, g: GlobalOptions, o: { runtime: HookRuntime; agent?: string }): Promise<void> {
  try {
    const input = payloadArg !== undefined ? { text: payloadArg, size: Buffer.byteLength(payloadArg) } : await readStdinBounded();
    await runHeartbeatHook(o.runtime, o.agent, input, g.mosaicHome);
  } catch (error) {
    process.stderr.write(`mosaic-top heartbeat-hook: ${sanitizeLine(messageOf(error))}\n`);
  }
  // Never fail the runtime's hook.
  process.exitCode = 0;
}

/**
 * `statusline-hook`: Claude's statusline JSON (stdin) ⇒ the agent's subscription windows; prints
 * the short status line on stdout, a problem on stderr, and always exits 0.
 */
async function runStatusline(g: GlobalOptions, o: { agent?: string }): Promise<void> {
  try {
    const result = await runStatuslineHook(o.agent, await readStdinBounded(), g.mosaicHome);
    process.stdout.write(`${result.line}\n`);
    if (result.problem) process.stderr.write(`mosaic-top statusline-hook: ${sanitizeLine(result.problem)}\n`);
  } catch (error) {
    process.stderr.write(`mosaic-top statusline-hook: ${sanitizeLine(messageOf(error))}\n`);
  }
  process.exitCode = 0;
}

/** Registers `hooks install`, `hooks status` and the hidden `heartbeat-hook` and `statusline-hook`. */
export function registerHooksCommands(program: Command): void {
  const hooks = program.command('hooks').description("wire agents' runtimes (Claude Code, Codex, opencode, pi) to the heartbeat protocol");
  hooks
    .command('install')
    .description("merge heartbeat hooks into each agent's runtime configuration (keeps your hooks; idempotent)")
    .argument('[agents...]', 'agent names (default: every local agent of the roster)')
    .option('--dry-run', 'print what would change; write nothing')
    .addOption(new Option('--runtime <runtime>', 'runtime of the named agents (when they are not in the roster)').choices([...HOOK_RUNTIMES]))
    .option('--no-codex-trust', 'do not ask Codex for its hook hashes (Codex will show its review screen)')
    .option('--statusline', "also wire Claude's statusLine (where it has none) to record subscription windows for spend (docs/spend.md)")
    .action((names: string[], _o: unknown, cmd: Command) => runInstall(names, cmd.optsWithGlobals() as GlobalOptions, cmd.opts() as InstallOptions));
  hooks
    .command('status')
    .description("say per agent whether its runtime configuration calls mosaic-top's heartbeat hooks")
    .argument('[agents...]', 'agent names (default: every local agent of the roster)')
    .action((names: string[], _o: unknown, cmd: Command) => runStatus(names, cmd.optsWithGlobals() as GlobalOptions));
  program
    .command('heartbeat-hook', { hidden: true })
    .description('internal: run by runtime hooks; maps the event JSON (stdin or last argument) to a heartbeat')
    .addOption(new Option('--runtime <runtime>').choices([...HOOK_RUNTIMES]).makeOptionMandatory())
    .option('--agent <name>', 'agent name (default: $MOSAIC_AGENT_NAME, else the tmux session the hook runs in)')
    .argument('[payload]', 'event JSON (Codex notify passes it as the last argument)')
    .action((payloadArg: string | undefined, _o: unknown, cmd: Command) =>
      runHook(payloadArg, cmd.optsWithGlobals() as GlobalOptions, cmd.opts() as { runtime: HookRuntime; agent?: string }),
    );
  program
    .command('statusline-hook', { hidden: true })
    .description("internal: Claude Code's statusLine command; records the subscription windows of the statusline JSON (stdin)")
    .option('--agent <name>', 'agent name (default: $MOSAIC_AGENT_NAME, else the tmux session the command runs in)')
    .action((_o: unknown, cmd: Command) => runStatusline(cmd.optsWithGlobals() as GlobalOptions, cmd.opts() as { agent?: string }));
}
