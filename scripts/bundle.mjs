// Builds dist/bundle/: the CLI (src/cli.ts and everything of ours it imports) as a few ES module
// files, so a start resolves, reads, compiles and links a handful of files instead of ~50 (the ESM
// loader was the largest share of `--once`'s CPU time: docs/performance.md). Run by `npm run
// build` (and `prepare`) after tsc; bin/mosaic-top loads dist/bundle/cli.js unless tsc's output is
// newer (a `tsc -p .` alone since the last build: this bundle is stale then).
//
// - Code splitting (rolldown): each subcommand and mode imported with `import()` stays its own
//   chunk, so a verb still loads only what it uses (test/cli/start-fast*.test.ts). Automatic
//   splitting makes one chunk per set of importers, and the `--once` path crossed ~45 such
//   chunk files: manual groups (below) put what a snapshot needs in two chunks — `snapshot` (what
//   src/modes/once.ts, the transition history and the spend meter import, minus what the entry
//   and the light verbs — heartbeat, hooks, backlog — import: those verbs must not load it) and
//   `common` (what the light verbs share with it). The console, `events`, `serve`, `doctor` and
//   the agent verbs collect or probe too and load the same chunks.
// - Packages stay external (node_modules, resolved at run time as before): Ink is patched in
//   place by src/ink/output.ts, PGlite finds its WebAssembly beside itself, and `yaml` is
//   required only when a file needs a parse (lib/yaml.ts). Except commander and semver, which
//   are CommonJS spread over ~15 and ~50 files: bundled, each is a part of one file.
// - backlog/server.ts is an entry of its own (dist/bundle/server.js): backlog/client/identity.ts
//   dates the server code on disk by the module `../server.js` beside its own chunk.
// - Source maps (linked .map files, sources named relative to them): with MOSAIC_DEBUG=1,
//   bin/mosaic-top turns them on, so a stack names src/…/*.ts lines.
//
// `node scripts/bundle.mjs [outdir]` (default dist/bundle; tests build into a temp dir).
import { rolldown } from 'rolldown';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The packages bundled in; every other dependency stays external. */
const BUNDLED = new Set(['commander', 'semver']);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'bundle'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const externalPackages = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((name) => !BUNDLED.has(name));
const external = (id) => id.startsWith('node:') || externalPackages.some((name) => id === name || id.startsWith(`${name}/`));

const source = (file) => path.join(root, file);
/** Where a snapshot starts: the `--once` mode and the modules it imports on every run. */
const SNAPSHOT_ROOTS = ['src/modes/once.ts', 'src/transitions/history.ts', 'src/snapshot/spend.ts'].map(source);
/** Entries whose static imports stay out of the snapshot group (they must not load it). */
const LIGHT_ROOTS = ['src/cli.ts', 'src/commands/heartbeat.ts', 'src/commands/hooks.ts', 'src/commands/backlog.ts', 'backlog/server.ts'].map(source);

/** Modules of the bundle statically reachable from `roots` (dynamic imports and external packages not followed). */
function staticClosure(ctx, roots) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop();
    if (seen.has(id) || external(id)) continue;
    seen.add(id);
    for (const next of ctx.getModuleInfo(id)?.importedIds ?? []) if (!seen.has(next)) stack.push(next);
  }
  return seen;
}

/**
 * The manual chunk groups, filled once the module graph is complete: `cli` (what src/cli.ts
 * imports statically: commander and a few lib/ files; it joins cli.js), `common` (what a snapshot
 * shares with the light verbs: roster, heartbeat, /proc, paths), `snapshot` (the rest of what a
 * snapshot imports). A static closure is closed under import, so group chunks import only
 * snapshot → common → cli (never back): no cycle between chunks, and each module still runs
 * after the modules it imports.
 */
const groups = { cli: new Set(), common: new Set(), snapshot: new Set() };
const snapshotGroupPlugin = {
  name: 'mosaic-snapshot-group',
  buildEnd() {
    const light = staticClosure(this, LIGHT_ROOTS);
    const cli = staticClosure(this, [source('src/cli.ts')]);
    for (const id of cli) groups.cli.add(id);
    for (const id of staticClosure(this, SNAPSHOT_ROOTS))
      if (!light.has(id)) groups.snapshot.add(id);
      else if (!cli.has(id)) groups.common.add(id);
    if (groups.snapshot.size < 20) this.error(`snapshot group: only ${groups.snapshot.size} modules found (did an entry path move?)`);
  },
};

// A rebuild leaves no chunk of an older build behind (chunk names carry a content hash).
fs.rmSync(outdir, { recursive: true, force: true });
const bundle = await rolldown({
  cwd: root,
  input: { cli: source('src/cli.ts'), server: source('backlog/server.ts') },
  platform: 'node',
  external,
  tsconfig: source('tsconfig.json'),
  // Needed by includeDependenciesRecursively: false (an entry chunk may export more than its module).
  preserveEntrySignatures: 'allow-extension',
  plugins: [snapshotGroupPlugin],
  logLevel: 'warn',
  // Dynamic imports of modules that are also imported statically elsewhere are expected here.
  onLog: (level, log, handler) => (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT' ? undefined : handler(level, log)),
});
await bundle.write({
  dir: outdir,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name]-[hash].js',
  sourcemap: true,
  sourcemapExcludeSources: true,
  // Whitespace out and local names shortened (~520 → ~235 KB for a snapshot's files): V8 parses
  // every byte of a module at its load, so `--once` costs ~12 ms less CPU (docs/performance.md).
  // No compression (the code runs as written), functions and classes keep their names, and the
  // linked source maps still name the TypeScript sources (MOSAIC_DEBUG=1).
  minify: { compress: false, mangle: { keepNames: true }, codegen: { removeWhitespace: true } },
  codeSplitting: {
    // A group holds its own modules only; their imports stay where their own group puts them.
    includeDependenciesRecursively: false,
    groups: Object.entries(groups).map(([name, modules]) => ({ name, test: (id) => modules.has(id) })),
  },
});
await bundle.close();
