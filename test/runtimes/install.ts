/**
 * Test bed: installs the real agent runtimes pinned in `test/runtimes/runtimes.json` on demand
 * — two sets: `pinned` (the top-level entries) and `latest` (the newest published as of its
 * `checked` date) — into a cache dir that is reused across runs (they are ~1.2 GB together, so they are NOT
 * package.json dependencies: a user's `npm install` stays small).
 *
 * Cache: `$MOSAIC_TEST_RUNTIMES_DIR/<name>@<version>` or
 * `~/.cache/mosaic-top-test/runtimes/<name>@<version>`; a runtime counts as installed when its
 * `.installed` marker and its bin exist. Installs take a proper-lockfile lock per runtime, so
 * parallel vitest workers (or two test runs) never install the same runtime twice, and write
 * into a temp dir renamed into place, so a killed install never leaves a half tree behind.
 *
 * ```ts
 * const claude = await ensureRuntime('claude'); // the selected set's version (MOSAIC_TEST_RUNTIME_SET)
 * const newest = await ensureRuntime('claude', undefined, { version: runtimePins('latest').claude.version });
 * ```
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { at } from '../helpers/must.js';

const execFileAsync = promisify(execFile);

/** The runtimes the test bed knows. */
export type RuntimeName = 'claude' | 'codex' | 'pi' | 'opencode';

/** Every runtime name, in the order the global setup installs them. */
export const RUNTIME_NAMES: readonly RuntimeName[] = ['claude', 'codex', 'pi', 'opencode'];

/** One pinned entry of runtimes.json: npm package, exact version, the bin it provides. */
export interface RuntimePin {
  package: string;
  version: string;
  bin: string;
}

/** An installed runtime: its pin, its install dir and the absolute path of its bin. */
export interface InstalledRuntime extends RuntimePin {
  name: RuntimeName;
  dir: string;
  binPath: string;
}

function pinFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // From source (vitest) the json sits beside this file; from dist/test/runtimes it is in the repo's test/runtimes.
  const candidates = [path.join(here, 'runtimes.json'), path.resolve(here, '..', '..', '..', 'test', 'runtimes', 'runtimes.json')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`runtimes.json not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** The two version sets of runtimes.json: `pinned` (top level) and `latest` (its `latest` object). */
export type RuntimeSet = 'pinned' | 'latest';

/**
 * The set the runtime tests run against by default: `$MOSAIC_TEST_RUNTIME_SET` (`pinned`, the
 * default, or `latest`). Throws a one-line error on any other value.
 */
export function selectedRuntimeSet(env: NodeJS.ProcessEnv = process.env): RuntimeSet {
  const v = (env.MOSAIC_TEST_RUNTIME_SET ?? '').trim() || 'pinned';
  if (v !== 'pinned' && v !== 'latest') throw new Error(`MOSAIC_TEST_RUNTIME_SET=${v}: expected pinned or latest`);
  return v;
}

/**
 * One version set of `test/runtimes/runtimes.json` (default: {@link selectedRuntimeSet}). Throws
 * when the file is missing or the set lacks a runtime, an exact version or a bin.
 */
export function runtimePins(set: RuntimeSet = selectedRuntimeSet()): Record<RuntimeName, RuntimePin> {
  const file = JSON.parse(fs.readFileSync(pinFile(), 'utf8')) as Record<string, unknown>;
  const raw = (set === 'latest' ? file.latest : file) as Record<string, RuntimePin> | undefined;
  for (const name of RUNTIME_NAMES) {
    const pin = raw?.[name];
    if (!pin || !pin.package || !/^\d+\.\d+\.\d+/.test(pin.version ?? '') || !pin.bin) {
      throw new Error(`test/runtimes/runtimes.json: ${set} entry "${name}" needs package, an exact version and bin`);
    }
  }
  return raw as Record<RuntimeName, RuntimePin>;
}

/**
 * The distinct versions of `name` across both sets, pinned first (`['2.1.197', '2.1.332']` for
 * claude; one entry when both sets agree): what a test parametrized over versions runs on.
 */
export function runtimeVersions(name: RuntimeName): string[] {
  return [...new Set([runtimePins('pinned')[name].version, runtimePins('latest')[name].version])];
}

/** Root of the runtime cache: `$MOSAIC_TEST_RUNTIMES_DIR` or `~/.cache/mosaic-top-test/runtimes`. */
export function runtimesCacheDir(): string {
  return process.env.MOSAIC_TEST_RUNTIMES_DIR || path.join(os.homedir(), '.cache', 'mosaic-top-test', 'runtimes');
}

function describe(name: RuntimeName, pin: RuntimePin): InstalledRuntime {
  const dir = path.join(runtimesCacheDir(), `${name}@${pin.version}`);
  return { name, ...pin, dir, binPath: path.join(dir, 'node_modules', '.bin', pin.bin) };
}

/**
 * Returns the runtime installed in the cache, installing it first when missing
 * (`npm install <package>@<version>` into a temp dir, then renamed into place), under a
 * per-runtime lock. `opts.version`: an exact version other than the selected set's (the other
 * set's, or the newest for `npm run runtimes:latest`). Bounded: the npm install gets 10 minutes. Throws a one-line error naming
 * the package, the version and npm's last output lines when the install fails.
 */
export async function ensureRuntime(name: RuntimeName, log: (line: string) => void = () => {}, opts: { version?: string } = {}): Promise<InstalledRuntime> {
  const pin = runtimePins()[name];
  const rt = describe(name, { ...pin, version: opts.version ?? pin.version });
  await installPackages(rt.dir, [`${rt.package}@${rt.version}`], rt.bin, rt.binPath, log);
  return rt;
}

/** Installs `specs` into `dir` unless its `.installed` marker and `binPath` exist (see {@link ensureRuntime}). */
async function installPackages(dir: string, specs: string[], bin: string, binPath: string, log: (line: string) => void): Promise<void> {
  const installed = () => fs.existsSync(path.join(dir, '.installed')) && fs.existsSync(binPath);
  if (installed()) return;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lockTarget = `${dir}.lock`;
  // Waits up to ~15 minutes for another worker's install; stale after 60 s without an update
  // (proper-lockfile refreshes the lock's mtime while we hold it).
  const release = await lockfile.lock(lockTarget, {
    realpath: false,
    stale: 60_000,
    retries: { retries: 900, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
  });
  try {
    if (installed()) return;
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(
      path.join(tmp, 'package.json'),
      JSON.stringify({ name: `mosaic-top-test-${path.basename(dir).replace(/[^a-z0-9-]/gi, '-')}`, private: true }) + '\n',
    );
    log(`installing ${specs.join(' ')} into ${dir}`);
    try {
      await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', ...specs], {
        cwd: tmp,
        timeout: 600_000,
        maxBuffer: 32 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
    } catch (error) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const e = error as { stderr?: string; message: string };
      const tail = (e.stderr || e.message).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`installing ${specs.join(' ')} for the real-runtime tests failed: ${tail}`, { cause: error });
    }
    if (!fs.existsSync(path.join(tmp, 'node_modules', '.bin', bin))) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(`${specs.join(' ')} installed but provides no bin "${bin}" (check test/runtimes/runtimes.json)`);
    }
    fs.writeFileSync(path.join(tmp, '.installed'), `${specs.join(' ')} ${new Date().toISOString()}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } finally {
    await release().catch(() => {});
  }
}

/** Tools the tests compare with (never dependencies): pinned in runtimes.json `extras`. */
export type ExtraName = 'ccusage';

/** An installed extra: its dir and bin. */
export interface InstalledExtra {
  name: ExtraName;
  packages: string[];
  dir: string;
  binPath: string;
}

/**
 * Returns the extra `name` (runtimes.json `extras.<name>`: exact `packages` specs, `bin`),
 * installed on demand into `<cache>/extra/<name>@<version of the first package>` like a runtime.
 * ccusage 20.0.24 needs its native `@ccusage/ccusage-linux-x64` beside it (listed there).
 */
export async function ensureExtra(name: ExtraName, log: (line: string) => void = () => {}): Promise<InstalledExtra> {
  const raw = JSON.parse(fs.readFileSync(pinFile(), 'utf8')) as { extras?: Record<string, { packages: string[]; bin: string }> };
  const pin = raw.extras?.[name];
  if (!pin || !pin.packages?.length || !pin.packages.every((p) => /@\d+\.\d+\.\d+$/.test(p)) || !pin.bin) {
    throw new Error(`test/runtimes/runtimes.json: extras.${name} needs packages pinned to exact versions and bin`);
  }
  const first = at(pin.packages, 0, 'package'); // checked above: each pinned as name@x.y.z
  const version = first.slice(first.lastIndexOf('@') + 1);
  const dir = path.join(runtimesCacheDir(), 'extra', `${name}@${version}`);
  const binPath = path.join(dir, 'node_modules', '.bin', pin.bin);
  await installPackages(dir, pin.packages, pin.bin, binPath, log);
  return { name, packages: pin.packages, dir, binPath };
}

/**
 * Installs every runtime of BOTH sets (serially: 2 cores; a version both sets share once). Used
 * by the vitest global setup; throws the first failure.
 */
export async function ensureAllRuntimes(log: (line: string) => void = () => {}): Promise<InstalledRuntime[]> {
  const out: InstalledRuntime[] = [];
  for (const name of RUNTIME_NAMES) for (const version of runtimeVersions(name)) out.push(await ensureRuntime(name, log, { version }));
  await ensureExtra('ccusage', log);
  return out;
}
