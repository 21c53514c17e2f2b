/**
 * `npm run runtimes:latest`: asks npm for the newest published version of every runtime of
 * test/runtimes/runtimes.json, writes them as its `latest` set (with today's `checked` date: one
 * diff to review), installs them into the runtime cache, runs the real-runtime tests against
 * them (`MOSAIC_TEST_RUNTIME_SET=latest`) and prints a drift report: which versions moved and
 * which cells changed (failed tests; receipts-matrix cells whose receipts differ from
 * test/runtimes/receipts-matrix.ts). Exit 0 when every cell held, 1 when some changed, 2 when npm
 * or the install failed.
 *
 * Options: `--check` only asks npm and prints the versions (writes and runs nothing);
 * `--files <a,b>` runs only these test files (default every file under test/runtimes/).
 * Network: npm's registry only (through the npm client).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureRuntime, RUNTIME_NAMES, runtimePins, type RuntimeName } from './install.js';
import { EXPECTED, type MatrixRuntime, type Shape, type State } from './receipts-matrix.js';
import { readJsonLines } from '../helpers/json.js';

const execFileAsync = promisify(execFile);

/** One runtime's versions: pinned set, latest set as written before, newest on npm now. */
export interface VersionRow {
  runtime: RuntimeName;
  package: string;
  pinned: string;
  latestBefore: string;
  newest: string;
}

/** One test of vitest's JSON report. */
export interface TestOutcome {
  name: string;
  status: string;
  message?: string;
}

/** One matrix cell as test/runtimes/receipts-cells.ts appends it (`MOSAIC_RECEIPTS_MATRIX_OUT`, one JSON line a cell). */
export interface MatrixCell {
  runtime: MatrixRuntime;
  variant?: string;
  state: State;
  shape: Shape;
  receipts: string[];
}

/** The newest published version of `pkg` (`npm view <pkg> version`, bounded to 60 s). Throws a one-line error. */
async function newestVersion(pkg: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('npm', ['view', pkg, 'version'], { timeout: 60_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
    const v = stdout.trim().split('\n').pop() ?? '';
    if (!/^\d+\.\d+\.\d+/.test(v)) throw new Error(`npm answered "${v}"`);
    return v;
  } catch (error) {
    throw new Error(`npm view ${pkg} version: ${((error as Error).message || '').split('\n')[0]}`, { cause: error });
  }
}

/**
 * The drift report's lines: versions (pinned → newest, `same` when equal), then the cells that
 * changed — tests that did not pass, and matrix cells whose receipts are not the expected ones.
 * Pure.
 */
export function driftReport(versions: readonly VersionRow[], tests: readonly TestOutcome[] | null, cells: readonly MatrixCell[]): string[] {
  const out = ['drift report: newest published runtimes vs the pinned set', ''];
  for (const v of versions) {
    const moved = v.newest === v.pinned ? 'same as pinned' : `pinned ${v.pinned} → newest ${v.newest}`;
    out.push(`  ${v.runtime.padEnd(9)} ${v.package} ${v.newest}: ${moved}${v.latestBefore !== v.newest ? ` (latest set was ${v.latestBefore})` : ''}`);
  }
  if (!tests) return [...out, '', 'tests not run (--check)'];
  const failed = tests.filter((t) => t.status !== 'passed' && t.status !== 'skipped' && t.status !== 'pending');
  const changedCells = cells.filter((c) => {
    const want = EXPECTED[c.runtime]?.[c.state]?.[c.shape];
    if (!want) return false;
    const allowed = want === 'refused|submitted' ? null : want.split(' + ').sort().join(' + ');
    return allowed ? [...c.receipts].sort().join(' + ') !== allowed : !c.receipts.every((r) => r === 'refused' || r === 'submitted');
  });
  out.push('', `${tests.length} test(s) run on the newest set: ${tests.length - failed.length} held, ${failed.length} changed`);
  for (const t of failed) out.push(`  CHANGED ${t.name}${t.message ? `: ${(t.message.split('\n', 1)[0] ?? '').slice(0, 200)}` : ''}`);
  for (const c of changedCells) {
    out.push(
      `  CHANGED cell ${c.variant ?? c.runtime} / ${c.state} / ${c.shape}: ${c.receipts.join(' + ')} (expected ${EXPECTED[c.runtime][c.state]![c.shape]})`,
    );
  }
  if (!failed.length && !changedCells.length)
    out.push('  every cell held: the newest set can become the pinned set (copy `latest` over the top-level entries)');
  return out;
}

/** Flattens vitest's `--reporter=json` output into test outcomes. */
export function testOutcomes(report: {
  testResults?: { assertionResults?: { fullName?: string; status?: string; failureMessages?: string[] }[] }[];
}): TestOutcome[] {
  return (report.testResults ?? []).flatMap((f) =>
    (f.assertionResults ?? []).map((a) => ({
      name: a.fullName ?? '?',
      status: a.status ?? '?',
      ...(a.failureMessages?.length ? { message: a.failureMessages[0] } : {}),
    })),
  );
}

/** Writes the newest versions as runtimes.json's `latest` set, with `checked` today. */
function writeLatestSet(file: string, rows: readonly VersionRow[]): void {
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const latest: Record<string, unknown> = { checked: new Date().toISOString().slice(0, 10) };
  const pinned = runtimePins('pinned');
  for (const r of rows) latest[r.runtime] = { ...pinned[r.runtime], version: r.newest };
  data.latest = latest;
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** Runs vitest on `files` with the latest set; resolves with its exit code. */
function runTests(files: readonly string[], reportFile: string, matrixFile: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', ...files, '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`], {
      stdio: 'inherit',
      env: { ...process.env, MOSAIC_TEST_RUNTIME_SET: 'latest', MOSAIC_RECEIPTS_MATRIX_OUT: matrixFile },
    });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const filesArg = argv[argv.indexOf('--files') + 1];
  const files = argv.includes('--files') && filesArg ? filesArg.split(',') : ['test/runtimes/'];
  const pinned = runtimePins('pinned');
  const latestBefore = runtimePins('latest');
  let rows: VersionRow[];
  try {
    rows = await Promise.all(
      RUNTIME_NAMES.map(async (runtime) => ({
        runtime,
        package: pinned[runtime].package,
        pinned: pinned[runtime].version,
        latestBefore: latestBefore[runtime].version,
        newest: await newestVersion(pinned[runtime].package),
      })),
    );
  } catch (error) {
    process.stderr.write(`runtimes:latest: ${(error as Error).message}\n`);
    return 2;
  }
  if (check) {
    process.stdout.write(`${driftReport(rows, null, []).join('\n')}\n`);
    return 0;
  }
  const jsonFile = path.resolve('test', 'runtimes', 'runtimes.json');
  writeLatestSet(jsonFile, rows);
  try {
    for (const r of rows) await ensureRuntime(r.runtime, (l) => process.stderr.write(`runtimes:latest: ${l}\n`), { version: r.newest });
  } catch (error) {
    process.stderr.write(`runtimes:latest: ${(error as Error).message}\n`);
    return 2;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-runtimes-latest-'));
  try {
    const reportFile = path.join(dir, 'vitest.json');
    const matrixFile = path.join(dir, 'matrix.json');
    const code = await runTests(files, reportFile, matrixFile);
    const tests = fs.existsSync(reportFile) ? testOutcomes(JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Parameters<typeof testOutcomes>[0]) : [];
    const cells = fs.existsSync(matrixFile) ? readJsonLines<MatrixCell>(fs.readFileSync(matrixFile, 'utf8'), matrixFile) : [];
    const report = driftReport(rows, tests, cells);
    process.stdout.write(`\n${report.join('\n')}\n`);
    return code === 0 && !report.some((l) => l.includes('CHANGED')) ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && /latest\.[jt]s$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`runtimes:latest: ${(error as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
