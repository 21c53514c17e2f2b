/**
 * `mosaic-top demo` fleet: a throwaway Mosaic home with a roster of eight simulated
 * agents on an isolated tmux socket, a holder session, one unmanaged session; and its teardown,
 * which kills only that socket's server and removes only a home it created.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTmux } from '../../fleet/exec.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { packageRoot } from '../../lib/version.js';
import { readBoundedFile } from '../../lib/bounded-read.js';
import { delay } from '../../lib/delay.js';

/** What `demo up` built; also written to `<home>/demo.json` so `demo down --mosaic-home` finds it. */
export interface DemoFleet {
  mosaicHome: string;
  socket: string;
  paths: MosaicPaths;
  /** Roster agent names, roster order. */
  agents: string[];
  holderSession: string;
  unmanagedSession: string;
  /** Pid of the tmux server this demo started (the only process `demo down` ends). */
  serverPid: number | null;
  /** Pid of the process that ran `demo up`. */
  createdBy: number;
}

/** Marker file: `demo down` removes a home only when it holds this file. */
export const DEMO_MARKER = 'demo.json';

/** One demo agent: name, roster fields, and how its sim agent behaves. */
interface DemoAgentSpec {
  name: string;
  runtime: string;
  class: string;
  modelHint?: string;
  /** Extra sim-agent args (mode etc.). */
  sim: string[];
  /** Write `MOSAIC_AGENT_COMMAND` pointing at the sim agent (false ⇒ DRIFT: the roster runtime is expected). */
  declaresCommand: boolean;
  remainOnExit?: boolean;
}

/**
 * The demo roster: orchestrator + enhancer (the floor), workers, one drifting, one silent, one
 * dying, one waiting at a permission prompt, one stuck on a rate limit. Their input modes make every send receipt reachable from the console (`s`, `c`):
 * accept ⇒ submitted, queue ⇒ queued while busy, typed ⇒ typed_not_submitted, ignore ⇒
 * no_evidence, and the dead pane ⇒ refused.
 */
export const DEMO_AGENTS: readonly DemoAgentSpec[] = [
  {
    name: 'orchestrator',
    runtime: 'claude',
    class: 'orchestrator',
    modelHint: 'opus',
    sim: ['--busy', '6', '--idle', '8', '--input-mode', 'accept'],
    declaresCommand: true,
  },
  { name: 'enhancer', runtime: 'claude', class: 'enhancer', sim: ['--busy', '8', '--idle', '6', '--input-mode', 'queue'], declaresCommand: true },
  { name: 'coder1', runtime: 'codex', class: 'coder', sim: ['--busy', '10', '--idle', '5', '--input-mode', 'accept'], declaresCommand: true },
  // Upstream's canary: the roster says pi, the pane runs something else ⇒ DRIFT. Its input
  // line ignores Enter ⇒ typed_not_submitted.
  { name: 'canary-pi', runtime: 'pi', class: 'coder', sim: ['--input-mode', 'typed'], declaresCommand: false },
  // Beats once (dated 10 minutes ago), then never again ⇒ stale at once; ignores input ⇒ no_evidence.
  { name: 'reviewer', runtime: 'opencode', class: 'review', sim: ['--mode', 'silent', '--beat-age', '600', '--input-mode', 'ignore'], declaresCommand: true },
  // Exits after 2 s; remain-on-exit keeps the dead pane ⇒ dead (a send is refused).
  {
    name: 'research',
    runtime: 'claude',
    class: 'research',
    sim: ['--mode', 'exit', '--exit-after', '2', '--exit-code', '3'],
    declaresCommand: true,
    remainOnExit: true,
  },
  // Stops at Claude Code's Bash permission prompt (its real screen text) ⇒ waiting, with the
  // tool and command in the evidence from the screen rules; a send is refused (a dialog).
  { name: 'coder2', runtime: 'claude', class: 'coder', sim: ['--mode', 'prompt', '--busy', '6', '--idle', '6'], declaresCommand: true },
  // Its last turn hit a rate limit (429 on screen, `state=stuck reason=rate limited (429)`) ⇒ stuck + LIMITED.
  { name: 'coder3', runtime: 'claude', class: 'coder', sim: ['--mode', 'limited', '--busy', '6', '--idle', '6'], declaresCommand: true },
];

/**
 * Absolute path of the compiled sim agent, `<package>/dist/src/demo/sim-agent.js` — also when
 * this module runs from source (tests import src/ directly; only dist/ has the .js to launch).
 */
export function simAgentScript(): string {
  return path.join(packageRoot(), 'dist', 'src', 'demo', 'sim-agent.js');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

async function tmuxOk(socket: string, args: string[]): Promise<string> {
  const r = await runTmux(socket, args, { timeoutMs: 5000 });
  if (!r.ok) throw new Error(`tmux -L ${socket} ${args[0]}: ${r.error}`);
  return r.stdout;
}

/** The roster YAML of the demo (upstream format, snake_case keys). */
export function demoRosterYaml(socket: string, holder: string, workdir: string): string {
  const lines = [
    '# mosaic-top demo roster (throwaway)',
    'version: 1',
    'transport: tmux',
    'tmux:',
    `  socket_name: ${socket}`,
    `  holder_session: ${holder}`,
    'defaults:',
    `  working_directory: ${workdir}`,
    'agents:',
  ];
  for (const a of DEMO_AGENTS) {
    lines.push(`  - name: ${a.name}`, `    runtime: ${a.runtime}`, `    class: ${a.class}`);
    if (a.modelHint) lines.push(`    model_hint: ${a.modelHint}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Builds the demo: a Mosaic home (`mosaicHome`, which must be new or empty; default a fresh
 * `mkdtemp` under the OS temp dir), roster, per-agent env files, a `bin/sim-agent` launcher,
 * a tmux server on `socket` (default `mosaic-demo-<pid>`) with the holder, the agent sessions
 * and an unmanaged session. Writes `<home>/demo.json`. Throws (after cleaning up what it
 * started) when tmux is missing or the home is not empty. Needs tmux, not systemd.
 * `backlog` (default true): seed the demo backlog (creates the embedded store and starts its
 * server); false leaves the home without a store, for callers that never read the backlog.
 */
export async function demoUp(opts: { mosaicHome?: string; socket?: string; backlog?: boolean } = {}): Promise<DemoFleet> {
  let mosaicHome: string;
  if (opts.mosaicHome) {
    mosaicHome = path.resolve(opts.mosaicHome);
    if (fs.existsSync(mosaicHome) && fs.readdirSync(mosaicHome).length > 0) {
      throw new Error(`demo: ${mosaicHome} is not empty; give a new or empty directory (the demo removes it on exit)`);
    }
    fs.mkdirSync(mosaicHome, { recursive: true });
  } else {
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mosaic-top-demo-'));
  }
  const socket = opts.socket ?? `mosaic-demo-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(socket)) throw new Error(`demo: invalid socket name "${socket}"`);
  const paths = resolvePaths({ mosaicHome }, { ...process.env, PGLITE_DATA_DIR: '', DATABASE_URL: '' });
  const holder = '_holder';
  const unmanaged = 'scratch';
  const fleet: DemoFleet = {
    mosaicHome,
    socket,
    paths,
    agents: DEMO_AGENTS.map((a) => a.name),
    holderSession: holder,
    unmanagedSession: unmanaged,
    serverPid: null,
    createdBy: process.pid,
  };
  // The marker first, so `demo down` can clean up even if we fail half way.
  fs.writeFileSync(path.join(mosaicHome, DEMO_MARKER), `${JSON.stringify(fleet, null, 2)}\n`);

  try {
    fs.mkdirSync(paths.agentsDir, { recursive: true });
    fs.mkdirSync(paths.runDir, { recursive: true });
    const binDir = path.join(mosaicHome, 'bin');
    fs.mkdirSync(binDir, { recursive: true });
    // A shebang launcher named `sim-agent`: /proc shows it as `node <home>/bin/sim-agent`,
    // which is how DRIFT must see through interpreters.
    const launcher = path.join(binDir, 'sim-agent');
    fs.writeFileSync(launcher, `#!/usr/bin/env node\nimport(${JSON.stringify(simAgentScript())});\n`, { mode: 0o755 });
    fs.writeFileSync(paths.roster, demoRosterYaml(socket, holder, mosaicHome));

    const exists = await runTmux(socket, ['has-session'], { timeoutMs: 3000 });
    if (exists.ok) throw new Error(`demo: a tmux server already runs on socket ${socket}`);
    if (exists.error?.endsWith('not found')) throw new Error('demo: tmux not found on PATH (the demo needs tmux)');

    await tmuxOk(socket, ['new-session', '-d', '-s', holder, '-x', '120', '-y', '30', 'sleep 2147483647']);
    fleet.serverPid = Number((await tmuxOk(socket, ['display-message', '-p', '-t', `=${holder}`, '#{pid}'])).trim()) || null;

    for (const a of DEMO_AGENTS) {
      // Agents that read their terminal raw draw their roster runtime's input area, so the
      // screen rules (and verified send) read them as that runtime.
      // A silent agent (gone quiet: its beat goes stale) keeps the plain `> ` line, so its
      // screen does not read as a live runtime either.
      const screen =
        a.sim.includes('--input-mode') && !a.sim.includes('silent') && ['claude', 'codex', 'pi', 'opencode'].includes(a.runtime) ? ['--screen', a.runtime] : [];
      const argv = [launcher, '--agent', a.name, '--run-dir', paths.runDir, ...a.sim, ...screen];
      if (a.declaresCommand) {
        fs.writeFileSync(
          path.join(paths.agentsDir, `${a.name}.env`),
          `# mosaic-top demo\nMOSAIC_AGENT_COMMAND=${argv.map(shellQuote).join(' ')}\nMOSAIC_AGENT_MODEL=${a.modelHint ?? ''}\n`,
        );
      }
      const command = argv.map(shellQuote).join(' ');
      if (a.remainOnExit) {
        // Set remain-on-exit before the program can exit, then start it.
        await tmuxOk(socket, ['new-session', '-d', '-s', a.name, '-x', '120', '-y', '30', '-c', mosaicHome, 'sleep 2147483647']);
        await tmuxOk(socket, ['set-option', '-w', '-t', `=${a.name}:0`, 'remain-on-exit', 'on']);
        await tmuxOk(socket, ['respawn-pane', '-k', '-t', `=${a.name}:0.0`, command]);
      } else {
        await tmuxOk(socket, ['new-session', '-d', '-s', a.name, '-x', '120', '-y', '30', '-c', mosaicHome, command]);
      }
    }
    await tmuxOk(socket, ['new-session', '-d', '-s', unmanaged, '-x', '120', '-y', '30', '-c', mosaicHome, 'sleep 2147483647']);

    // The demo backlog: the demo goal list A1…H4 with a short history (backlog/demo.ts).
    if (opts.backlog ?? true) {
      const { seedDemoBacklog } = await import('../../backlog/demo.js');
      await seedDemoBacklog(paths, { workerAgent: 'coder1', staleAgent: 'reviewer' });
    }

    fs.writeFileSync(path.join(mosaicHome, DEMO_MARKER), `${JSON.stringify(fleet, null, 2)}\n`);
    return fleet;
  } catch (error) {
    await demoDown(fleet).catch(() => {});
    throw error;
  }
}

/** Reads `<home>/demo.json`; throws when the directory is not a demo home. */
export function readDemoFleet(mosaicHome: string): DemoFleet {
  const file = path.join(path.resolve(mosaicHome), DEMO_MARKER);
  let raw: string;
  try {
    const read = readBoundedFile(file, { maxBytes: 1024 * 1024 });
    if (!read) throw new Error('absent');
    raw = read.bytes.toString('utf8');
  } catch {
    throw new Error(`demo: ${mosaicHome} is not a demo home (no ${DEMO_MARKER}); refusing to touch it`);
  }
  const fleet = JSON.parse(raw) as DemoFleet;
  if (typeof fleet.socket !== 'string' || !fleet.socket) throw new Error(`demo: ${file} has no socket`);
  return fleet;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits up to `ms` for every pid in `pids` (ours) to exit, then SIGTERMs those still running. */
async function endAfter(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let left = pids.filter(pidAlive);
  while (left.length && Date.now() < deadline) {
    await delay(50);
    left = left.filter(pidAlive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Tears a demo down: `tmux -L <socket> kill-server` (that socket only; the panes' sim agents
 * get SIGHUP and end with it — waited for, up to 5 s, then SIGTERM to those pane pids only),
 * the demo's backlog server, then, if the recorded tmux server pid still runs, SIGTERM to that
 * pid only; then removes the home — only if it holds `demo.json`. Idempotent; accepts the
 * fleet or a home path.
 */
export async function demoDown(fleetOrHome: DemoFleet | string): Promise<void> {
  const fleet = typeof fleetOrHome === 'string' ? readDemoFleet(fleetOrHome) : fleetOrHome;
  const listed = await runTmux(fleet.socket, ['list-panes', '-a', '-F', '#{pane_pid}'], { timeoutMs: 5000 });
  const panePids = listed.ok
    ? listed.stdout
        .split('\n')
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 1)
    : [];
  await runTmux(fleet.socket, ['kill-server'], { timeoutMs: 5000 });
  await endAfter(panePids, 5000);
  // The demo's embedded backlog server (started by seedDemoBacklog) holds the data dir.
  const { stopEmbeddedServer } = await import('../../backlog/client.js');
  await stopEmbeddedServer(fleet.paths);
  if (fleet.serverPid) await endAfter([fleet.serverPid], 3000);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  fs.rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${uid}`, fleet.socket), { force: true });
  if (fs.existsSync(path.join(fleet.mosaicHome, DEMO_MARKER))) {
    fs.rmSync(fleet.mosaicHome, { recursive: true, force: true });
  }
}
