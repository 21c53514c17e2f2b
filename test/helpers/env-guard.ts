/**
 * Setup file of the test files that share a fork (vitest.config.ts, `isolate: false`): the
 * environment each file found is put back after it, so a variable one file sets (PATH with a
 * fixture bin, MT_SYSTEMCTL_MODE, XDG_CACHE_HOME, …) never reaches the next file in that fork,
 * and so are real timers.
 */
import { afterAll, vi } from 'vitest';

// Ink draws only its last frame, at unmount, when `is-in-ci` found CI / CONTINUOUS_INTEGRATION
// set at ink's first import in the process (CI runners set CI=true). The console hides them while
// it loads ink (src/modes/console.ts); so does this setup, before any file of the fork imports
// ink, so that what a file's in-process ink writes does not depend on the runner's environment.
{
  const keys = ['CI', 'CONTINUOUS_INTEGRATION'] as const;
  const saved = keys.map((k) => [k, process.env[k]] as const);
  for (const k of keys) delete process.env[k];
  try {
    await import('ink');
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

const found = { ...process.env };
const cwd = process.cwd();

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in found)) delete process.env[key];
  for (const [key, value] of Object.entries(found)) if (process.env[key] !== value) process.env[key] = value;
  vi.useRealTimers();
  if (process.cwd() !== cwd) process.chdir(cwd);
});
