/**
 * Real parts a test needs from the machine (a PostgreSQL cluster, sshd, a systemd --user
 * manager, root, the PGlite template): under CI every one must be there, so a missing part
 * FAILS the test file with one line saying which part and why; elsewhere (a laptop without
 * sshd, a container without systemd) the tests of that part are skipped with one line on stderr.
 */

/** True when this run is CI (`CI=true` or `CI=1`): no real part may be missing, nothing skips. */
export function isCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Whether `part` is here. `unavailable` is null/undefined/'' when it is, else the reason it is
 * not. Under CI a missing part throws `CI=true: <part> must run here, but it is unavailable:
 * <reason>` (the caller's file fails); elsewhere it writes `[<file>] <part> tests skipped here
 * (never in CI): <reason>` to stderr (once per part and reason) and returns false, for
 * `describe.runIf(…)`.
 */
export function realPartAvailable(part: string, unavailable: string | null | undefined, file?: string): boolean {
  if (!unavailable) return true;
  if (isCi()) throw new Error(`CI=true: ${part} must run here, but it is unavailable: ${unavailable}`);
  const line = `${file ? `[${file}] ` : ''}${part} tests skipped here (never in CI): ${unavailable}`;
  if (!warned.has(line)) process.stderr.write(`${line}\n`);
  warned.add(line);
  return false;
}

const warned = new Set<string>();
