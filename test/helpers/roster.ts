/**
 * Writes a test fleet's roster (upstream's format) and creates its run dir: one helper for the
 * snapshot, remote, `--once` and terminal end-to-end tests.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One roster agent. `socket: null` writes `socket: ''` (the default tmux socket, explicitly). */
export interface TestAgentDef {
  name: string;
  runtime: string;
  class?: string;
  host?: string;
  ssh?: string;
  socket?: string | null;
}

/**
 * Writes `roster` (a roster.yaml path) naming `socket` (null: no `socket_name`, the default
 * socket), the holder session (default `_keepalive`) and `agents`; creates `runDir` too.
 */
export function writeTestRoster(roster: string, runDir: string, socket: string | null, agents: TestAgentDef[], holder = '_keepalive'): void {
  const lines = ['version: 1', 'transport: tmux', 'tmux:'];
  if (socket) lines.push(`  socket_name: ${socket}`);
  lines.push(`  holder_session: ${holder}`, 'agents:');
  for (const a of agents) {
    lines.push(`  - name: ${a.name}`, `    runtime: ${a.runtime}`);
    for (const k of ['class', 'host', 'ssh'] as const) if (a[k]) lines.push(`    ${k}: ${a[k]}`);
    if (a.socket !== undefined) lines.push(`    socket: ${a.socket ?? "''"}`);
  }
  fs.mkdirSync(path.dirname(roster), { recursive: true });
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(roster, `${lines.join('\n')}\n`);
}

/** {@link writeTestRoster} for a Mosaic home: `<home>/fleet/roster.yaml` and `<home>/fleet/run`. */
export function writeHomeRoster(home: string, socket: string | null, agents: TestAgentDef[], holder?: string): void {
  writeTestRoster(path.join(home, 'fleet', 'roster.yaml'), path.join(home, 'fleet', 'run'), socket, agents, holder);
}
