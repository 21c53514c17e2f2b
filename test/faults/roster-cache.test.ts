/**
 * Faults: the parsed-roster cache (`~/.cache/mosaic-top/roster/`) gets one entry per roster
 * path ever read; it is pruned to the newest {@link ROSTER_CACHE_ENTRIES} instead of growing
 * for ever.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRosterCached, ROSTER_CACHE_ENTRIES } from '../../fleet/roster.js';

describe('faults: the roster cache', () => {
  let dir = '';
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reading 50 different rosters leaves at most the newest entries, the last one cached', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fault-rcache-'));
    const cache = path.join(dir, 'cache');
    for (let i = 0; i < 50; i++) {
      const roster = path.join(dir, `r${i}.yaml`);
      fs.writeFileSync(roster, `version: 1\ntransport: tmux\nagents:\n  - name: a${i}\n    runtime: claude\n`);
      expect(loadRosterCached(roster, cache).ok).toBe(true);
    }
    const left = fs.readdirSync(cache);
    expect(left.length).toBeLessThanOrEqual(ROSTER_CACHE_ENTRIES ?? 32);
    expect(left.length).toBeGreaterThan(0);
  });
});
