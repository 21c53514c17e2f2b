/**
 * Test bed: the machine's runtime-pane slots — at most `$MOSAIC_TEST_RUNTIME_SLOTS` (default 2)
 * real runtime panes alive at once, across test files and test processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Takes one of the machine's runtime-pane slots (`$MOSAIC_TEST_RUNTIME_SLOTS`, default 2: the
 * machine has 2 cores) — a proper-lockfile lock on `<tmpdir>/mosaic-runtime-slots/slot-<n>` —
 * waiting up to `boundMs` for one to be free, across test files and test processes. Returns the
 * release function. Throws naming the bound when none frees in time.
 */
export async function acquirePaneSlot(boundMs = 600_000): Promise<() => Promise<void>> {
  const count = Math.max(1, Number(process.env.MOSAIC_TEST_RUNTIME_SLOTS) || 2);
  const dir = path.join(os.tmpdir(), 'mosaic-runtime-slots');
  fs.mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + boundMs;
  for (;;) {
    for (let i = 0; i < count; i++) {
      try {
        return await lockfile.lock(path.join(dir, `slot-${i}`), { realpath: false, stale: 30_000, retries: 0 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      }
    }
    if (Date.now() > deadline) throw new Error(`no runtime-pane slot free within ${boundMs} ms (${count} slots in ${dir}): another test holds them`);
    await sleep(250);
  }
}
