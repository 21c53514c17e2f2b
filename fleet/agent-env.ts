/**
 * Per-agent env files `<home>/fleet/agents/<name>.env` (upstream's generateAgentEnv output:
 * `MOSAIC_AGENT_COMMAND=…`, `MOSAIC_AGENT_MODEL=…`, systemd EnvironmentFile syntax).
 */
import fs from 'node:fs';
import path from 'node:path';

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

/** Reads `<agentsDir>/<agent>.env`; `{}` when absent or unreadable. Never throws. */
export function readAgentEnv(agentsDir: string, agent: string): Record<string, string> {
  const file = path.join(agentsDir, `${agent}.env`);
  // Most agents have no env file: a stat that does not throw costs ~1 µs, a failed read
  // ~9 µs (an Error with a stack), once per agent per tick.
  try {
    if (!fs.statSync(file, { throwIfNoEntry: false })) return {};
    return parseAgentEnv(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * The program an agent is expected to run (for DRIFT: the pane runs something else than the agent should): basename of the first word of
 * `MOSAIC_AGENT_COMMAND` when set, else the roster `runtime`. Upstream launches
 * `mosaic yolo <runtime>` by default, so a first word of `mosaic` falls back to the runtime.
 */
export function expectedProgram(env: Record<string, string>, runtime: string): string {
  const command = env.MOSAIC_AGENT_COMMAND?.trim();
  if (command) {
    const first = command.split(/\s+/)[0].replace(/^["']|["']$/g, '');
    const base = path.basename(first);
    if (base && base !== 'mosaic') return base;
  }
  return runtime;
}
