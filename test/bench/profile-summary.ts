/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): self time per function and per area of the
 * code (ours by directory, node_modules by package, node's internals), over the samples after
 * `skipSeconds` (a console's start-up is not its steady state). Usage:
 * `node dist/test/bench/profile-summary.js <file.cpuprofile> [skipSeconds=12] [top=30]`.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

/** The area a frame belongs to: `ours:<dir>`, `pkg:<name>`, `node:<internal>`, or a V8 pseudo-frame. */
export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg:${pkg[1]}`;
  const ours = /\/dist\/(lib|fleet|backlog|src\/[^/]+|src|hooks|components)\//.exec(url);
  if (ours) return `ours:${ours[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/** Self milliseconds per function and per area after `skipSeconds`, plus the busy total. */
export function summarize(
  profile: Profile,
  skipSeconds: number,
): { busyMs: number; windowMs: number; byFn: Map<string, number>; byArea: Map<string, number>; inclusive: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let t = 0;
  let busyMs = 0;
  let windowMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    if (t < skipSeconds * 1000) continue;
    windowMs += dt;
    const node = nodes.get(profile.samples[i] ?? -1);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busyMs += dt;
    const fnKey = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const name = nodes.get(id)?.callFrame.functionName || '(anonymous)';
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + dt);
  }
  return { busyMs, windowMs, byFn, byArea, inclusive };
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  const [file, skip = '12', top = '30'] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary <file.cpuprofile> [skipSeconds] [top]\n');
    process.exit(2);
  }
  const s = summarize(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile, Number(skip));
  const pct = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(`busy ${s.busyMs.toFixed(0)} ms of ${s.windowMs.toFixed(0)} ms (${((s.busyMs / s.windowMs) * 100).toFixed(2)} % of a core)\n`);
  process.stdout.write('by area:\n');
  for (const [k, v] of [...s.byArea].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`  ${pct(v)}  ${v.toFixed(0).padStart(6)} ms  ${k}\n`);
  process.stdout.write('by function (inclusive, by name):\n');
  for (const [k, v] of [...s.inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
    process.stdout.write(`  ${pct(v)}  ${v.toFixed(0).padStart(6)} ms  ${k}\n`);
  process.stdout.write('by function (self):\n');
  for (const [k, v] of [...s.byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
    process.stdout.write(`  ${pct(v)}  ${v.toFixed(0).padStart(6)} ms  ${k}\n`);
}
