/**
 * The console's render path alone, in one process, for the code built at `<root>` (this
 * checkout or an older one: its dist, its node_modules — so its own Ink patch): the App mounted
 * by real Ink on a fake `columns`×`rows` terminal (test/helpers/ink-terminal.ts) with `agents`
 * agents, colour on, the cheaper output pass installed as the console does.
 *
 * - ticks: every agent's idle age moves (as in a live fleet of idle panes, at a constant drawn
 *   width), one store update per tick; CPU time (process.cpuUsage, user+system) from the update
 *   to Ink's terminal write of that frame.
 * - keys: `j`/`k` presses; wall time and CPU time from the stdin write to the frame's write.
 *
 * Usage: `node dist/test/bench/render-frames.js <root> <agents> [ticks=40] [presses=60]`;
 * prints one JSON line. Run by `MT_BENCH_PART=frames npm run bench:console` (console.bench.ts),
 * which interleaves this code and `MT_BENCH_BASE`. CPU figures, not wall, decide on a shared box.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

process.env.NODE_ENV ??= 'production';

interface Snapshots {
  makeSnapshot: (agents: unknown[]) => unknown;
  manyAgents: (n: number) => Array<Record<string, unknown> & { pane?: Record<string, unknown> | null }>;
}
interface Store {
  getState(): { applySnapshot(s: unknown): void; ui: { selectedAgent: string | null } };
}
interface Terminal {
  stdout: { write: (...args: unknown[]) => boolean };
  type(text: string): void;
}

const [rootArg, agentsArg, ticksArg = '40', pressesArg = '60'] = process.argv.slice(2);
if (!rootArg || !agentsArg) {
  process.stderr.write('usage: render-frames <root> <agents> [ticks] [presses]\n');
  process.exit(2);
}
const root = path.resolve(rootArg);
const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as T;
const { createConsoleStore } = await load<{ createConsoleStore: (o: { color: boolean }) => Store }>('src/store/index.js');
const { makeSnapshot, manyAgents } = await load<Snapshots>('test/fixtures/snapshots.js');
const { mountConsoleApp } = await load<{
  mountConsoleApp: (store: Store, o: { columns: number; rows: number; maxFps: number }) => { instance: { unmount(): void }; terminal: Terminal };
}>('test/helpers/ink-terminal.js');
const { installFastOutputPass } = await load<{ installFastOutputPass: () => Promise<boolean> }>('src/ink/output.js');
await installFastOutputPass();

const n = Number(agentsArg);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fleet with every pane idle `idle` seconds (10m00s–49m59s: one drawn width). */
const fleetAt = (idle: number) => makeSnapshot(manyAgents(n).map((a, i) => ({ ...a, pane: a.pane ? { ...a.pane, idleSeconds: idle + (i % 7) } : a.pane })));

const store = createConsoleStore({ color: true });
store.getState().applySnapshot(fleetAt(600));
const { instance, terminal } = mountConsoleApp(store, { columns: 200, rows: 60, maxFps: 30 });
// Each write of Ink resolves the waiter with the CPU and wall time of that moment.
let onWrite: ((at: { cpu: number; wall: number }) => void) | null = null;
const write = terminal.stdout.write.bind(terminal.stdout);
terminal.stdout.write = (...args: unknown[]) => {
  const at = { cpu: cpuMs(), wall: performance.now() };
  const ok = write(...args);
  onWrite?.(at);
  return ok;
};
const nextWrite = () => new Promise<{ cpu: number; wall: number }>((resolve) => (onWrite = resolve));
await pause(300);

const tickCpu: number[] = [];
for (let t = 1; t <= Number(ticksArg); t++) {
  const written = nextWrite();
  const c0 = cpuMs();
  store.getState().applySnapshot(fleetAt(600 + 2 * t));
  tickCpu.push((await written).cpu - c0);
  await pause(60); // past Ink's frame throttle (30 fps)
}

const keyCpu: number[] = [];
const keyWall: number[] = [];
for (let i = 0; i < Number(pressesArg); i++) {
  const before = store.getState().ui.selectedAgent;
  const written = nextWrite();
  const c0 = cpuMs();
  const w0 = performance.now();
  terminal.type(i % 20 < 10 ? 'j' : 'k');
  const at = await written;
  if (store.getState().ui.selectedAgent === before) throw new Error('a key press did not move the selection');
  keyCpu.push(at.cpu - c0);
  keyWall.push(at.wall - w0);
  await pause(60);
}
instance.unmount();
const r = (x: number) => Number(x.toFixed(2));
process.stdout.write(
  `${JSON.stringify({
    agents: n,
    tickCpuMeanMs: r(mean(tickCpu.slice(2))),
    tickCpuP50Ms: r(quantile(tickCpu.slice(2), 0.5)),
    keyCpuMeanMs: r(mean(keyCpu)),
    keyCpuP95Ms: r(quantile(keyCpu, 0.95)),
    keyWallP50Ms: r(quantile(keyWall, 0.5)),
    keyWallP95Ms: r(quantile(keyWall, 0.95)),
  })}\n`,
);
process.exit(0);
