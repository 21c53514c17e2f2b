/**
 * `mosaic-top doctor [AGENT…] [--json]`: per agent, what mosaic-top's readiness and sends rest on —
 * the runtime's version read from its live process, the screen rules range that matched it
 * (and the newest version those rules were proven on), whether its hooks are wired, the
 * fallback in use (hooks, screen rules only, pane activity only), and RULES-STALE when the
 * rules may not know the runtime's screens. One snapshot (the same collector as `--once`) and
 * the hook files (`hooks status`); reads only, writes nothing. Exit 0, or 1 when an agent is
 * RULES-STALE, 2 on a roster error.
 */
import type { Command } from 'commander';
import { messageOf } from '../../lib/errors.js';
import { resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { hasScreenRules, ruleSetSummary, shippedScreenRules, type CompiledScreenRules } from '../../fleet/screen.js';
import { ScreenRulesCache, screenRulesOverridePath } from '../../fleet/screen-rules-file.js';
import type { GlobalOptions } from '../options.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import type { HookStatus } from '../../fleet/hooks-install/install.js';

/** One agent's line of `doctor`. */
export interface DoctorRow {
  agent: string;
  runtime: string;
  /** Version read from the live process; null when unknown (no live pane, remote, not a known package). */
  version: string | null;
  /** The rules that read (or would read) its screen: `claude@>=2.1.198`; null when the runtime has none. */
  rules: string | null;
  /** The newest version those rules were proven on. */
  proven: string | null;
  /** Hook wiring: `wired`, `partial`, `outdated`, `not wired`, `unreadable`, or null when its runtime takes no hooks. */
  hooks: HookStatus['state'] | null;
  hooksDetail: string | null;
  /** What readiness rests on for this agent. */
  fallback: string;
  /** The screen as last read (`idle`, `unknown`…), null when not read. */
  screen: string | null;
  /** RULES-STALE evidence, or null. */
  stale: string | null;
}

/** What readiness rests on: hooks and screen, screen rules alone, or pane activity. Pure. */
function fallbackOf(row: AgentRow, hooks: HookStatus | undefined, withRules: boolean): string {
  const wired = hooks?.state === 'wired';
  if (row.host) return `${wired ? 'hooks (heartbeat)' : 'heartbeat file if any'}, pane activity (screens are read on this host only)`;
  if (wired) return withRules ? 'hooks (heartbeat), screen rules as a check' : 'hooks (heartbeat) only: no screen rules for this runtime';
  if (withRules) return 'screen rules only (no hooks wired)';
  return 'pane activity only (no hooks wired, no screen rules)';
}

/**
 * Builds the doctor rows from one snapshot, the hook statuses (by agent name) and the screen
 * rules in use. Pure.
 */
export function doctorRows(snapshot: Snapshot, hooks: ReadonlyMap<string, HookStatus>, rules: CompiledScreenRules = shippedScreenRules()): DoctorRow[] {
  return snapshot.agents.map((row) => {
    const version = row.screen?.version ?? null;
    const summary = ruleSetSummary(rules, row.runtime, version);
    const h = hooks.get(row.name);
    const staleLine = row.evidence.find((e) => e.startsWith('RULES-STALE: '));
    return {
      agent: row.name,
      runtime: row.runtime,
      version,
      rules: row.screen?.rules ?? summary?.label ?? null,
      proven: summary?.proven ?? null,
      hooks: h?.state ?? null,
      hooksDetail: h?.detail ?? null,
      fallback: fallbackOf(row, h, hasScreenRules(row.runtime, rules)) + (staleLine ? '; the screen rules may be stale' : ''),
      screen: row.screen?.state ?? null,
      stale: staleLine ? staleLine.slice('RULES-STALE: '.length) : null,
    };
  });
}

/** The text of `doctor`: one block per agent. Sanitized. */
export function renderDoctor(rows: readonly DoctorRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const rules = r.rules ? `rules ${r.rules}${r.proven ? ` (proven on ${r.runtime} ${r.proven})` : ''}` : 'no screen rules';
    const hooks = r.hooks ? `hooks ${r.hooks}${r.hooksDetail ? ` (${r.hooksDetail})` : ''}` : 'hooks: none for this runtime';
    out.push(`${r.agent} (${r.runtime}): ${r.version ? `${r.runtime} ${r.version}` : 'version unknown'} · ${rules} · ${hooks}`);
    out.push(`  readiness from: ${r.fallback}${r.screen ? ` · screen ${r.screen}` : ''}`);
    if (r.stale) out.push(`  RULES-STALE: ${r.stale}`);
  }
  return out.map((l) => `${sanitizeLine(l)}\n`).join('');
}

/** Registers `doctor`. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('per agent: runtime version (from its process), the screen rules that read it, hooks wired, the fallback in use, RULES-STALE')
    .argument('[agents...]', 'agent names (default: every agent of the roster)')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
      const [{ collectSnapshot }, { hookStatus }, { hookTarget, planHookFiles }, { loadRoster }] = await Promise.all([
        import('../snapshot/collect.js'),
        import('../../fleet/hooks-install/install.js'),
        import('../../fleet/hooks-install/plan.js'),
        import('../../fleet/roster.js'),
      ]);
      const loaded = loadRoster(paths.roster);
      if (!loaded.ok) {
        process.stderr.write(`mosaic-top doctor: ${sanitizeLine(loaded.errors[0] ?? `cannot read ${paths.roster}`)}\n`);
        process.exitCode = 2;
        return;
      }
      const unknown = names.filter((n) => !loaded.roster.agents.some((a) => a.name === n));
      if (unknown.length) {
        process.stderr.write(`mosaic-top doctor: not in the roster ${paths.roster}: ${unknown.map(sanitizeLine).join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      const rulesState = new ScreenRulesCache(screenRulesOverridePath(paths.mosaicHome));
      const snapshot = await collectSnapshot({ paths, includeBacklog: false, screenRules: rulesState });
      const agents = loaded.roster.agents.filter((a) => !names.length || names.includes(a.name));
      const hooks = new Map<string, HookStatus>();
      try {
        for (const s of hookStatus(planHookFiles(agents, paths.agentsDir).items, hookTarget(paths.mosaicHome))) for (const a of s.agents) hooks.set(a, s);
      } catch (error) {
        process.stderr.write(`mosaic-top doctor: hook files not checked: ${sanitizeLine(messageOf(error))}\n`);
      }
      const rows = doctorRows({ ...snapshot, agents: snapshot.agents.filter((a) => !names.length || names.includes(a.name)) }, hooks, rulesState.get().rules);
      if (g.json) process.stdout.write(`${JSON.stringify({ agents: rows })}\n`);
      else process.stdout.write(renderDoctor(rows));
      if (rows.some((r) => r.stale)) process.exitCode = 1;
    });
}
