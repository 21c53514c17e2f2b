// Builds dist/bundle/: the CLI (src/cli.ts and everything of ours it imports) as a few ES module
// files, so a start resolves, reads and links a handful of files instead of ~50 (the ESM loader
// was the largest share of `--once`'s CPU time: docs/performance.md). Run by `npm run build`
// (and `prepare`) after tsc; bin/mosaic-top loads dist/bundle/cli.js unless tsc's output is
// newer (a `tsc -p .` alone since: this bundle is stale then).
//
// - Code splitting: each subcommand and mode imported with `import()` stays its own chunk, so a
//   verb still loads only what it uses (test/cli/start-fast*.test.ts).
// - Packages stay external (node_modules, resolved at run time as before): Ink is patched in
//   place by src/ink/output.ts, PGlite finds its WebAssembly beside itself, and `yaml` is
//   required only when a file needs a parse (lib/yaml.ts). Except commander and semver, which
//   every start loads and which are CommonJS spread over ~15 and ~50 files: bundled, each is
//   a part of one file (their `require` of node's modules goes through createRequire, below).
// - backlog/server.ts is an entry of its own (dist/bundle/server.js): backlog/client/identity.ts
//   dates the server code on disk by the module `../server.js` beside its own chunk.
// - Source maps (linked .map files, sources named relative to them): with MOSAIC_DEBUG=1,
//   bin/mosaic-top turns them on, so a stack names src/…/*.ts lines.
//
// `node scripts/bundle.mjs [outdir]` (default dist/bundle; tests build into a temp dir).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The packages bundled in; every other dependency stays external. */
const BUNDLED = new Set(['commander', 'semver']);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'bundle'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((name) => !BUNDLED.has(name));

// A rebuild leaves no chunk of an older build behind (chunk names carry a content hash).
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', server: 'backlog/server.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // A bundled CommonJS package's require('node:…') needs a real require in an ES module.
  banner: { js: "import { createRequire as __mtCreateRequire } from 'node:module'; const require = __mtCreateRequire(import.meta.url);" },
  tsconfig: 'tsconfig.json',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});
