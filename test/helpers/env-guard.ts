/**
 * Setup file of the test files that share a fork (vitest.config.ts, `isolate: false`): the
 * environment each file found is put back after it, so a variable one file sets (PATH with a
 * fixture bin, MT_SYSTEMCTL_MODE, XDG_CACHE_HOME, …) never reaches the next file in that fork,
 * and so are real timers.
 */
import { afterAll, vi } from 'vitest';

const found = { ...process.env };
const cwd = process.cwd();

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in found)) delete process.env[key];
  for (const [key, value] of Object.entries(found)) if (process.env[key] !== value) process.env[key] = value;
  vi.useRealTimers();
  if (process.cwd() !== cwd) process.chdir(cwd);
});
