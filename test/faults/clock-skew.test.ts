/**
 * Faults: a heartbeat whose `ts` AND file mtime are both in the future (a writer's clock ahead,
 * or a `touch -d` by an agent). It used to read `0s old` until the real clock caught up, so a
 * dead writer looked fresh for an hour. Now the beat ages from the file's ctime (only the
 * kernel's clock sets it), the evidence says `clock skew`, and it goes stale after the
 * threshold like any other beat.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readHeartbeat } from '../../fleet/heartbeat.js';
import { classifyReadiness } from '../../fleet/readiness.js';

describe('faults: a heartbeat from the future', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('ts and mtime an hour ahead: ages from the ctime, says clock skew, goes stale after the threshold', () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fault-skew-'));
    dirs.push(runDir);
    const file = path.join(runDir, 'a1.hb');
    const now = Math.floor(Date.now() / 1000);
    fs.writeFileSync(file, `v=1\nts=${now + 3600}\nstate=busy\ninterval=30\n`);
    fs.utimesSync(file, now + 3600, now + 3600);
    const ctime = Math.floor(fs.statSync(file).ctimeMs / 1000);

    // Read 300 s after the write (the writer died at once): the beat is 300 s old, not 0 s.
    const later = ctime + 300;
    const read = readHeartbeat(runDir, 'a1', later);
    expect(read.heartbeat?.ageSeconds).toBe(300);
    expect(read.heartbeat?.skewSeconds).toBeGreaterThan(0);
    expect(read.heartbeat?.problems.join('; ')).toMatch(/clock skew.*age from the file's ctime/);

    const pane = {
      target: '=a1:0.0',
      paneId: '%1',
      pid: 10,
      currentCommand: 'node',
      dead: false,
      deadStatus: null,
      title: '',
      width: 80,
      height: 24,
      idleSeconds: 300,
    };
    const decided = classifyReadiness({ target: '=a1:0.0', socketLabel: 't', pane, heartbeat: read.heartbeat }, { staleSeconds: 120, idleSeconds: 300 });
    expect(decided.readiness).toBe('stale');
    expect(decided.evidence.join('\n')).toMatch(/clock skew/);

    // Within the threshold it is still a live beat, aged, with the skew in the evidence.
    const soon = readHeartbeat(runDir, 'a1', ctime + 10).heartbeat;
    expect(soon?.ageSeconds).toBe(10);
    const fresh = classifyReadiness(
      { target: '=a1:0.0', socketLabel: 't', pane: { ...pane, idleSeconds: 5 }, heartbeat: soon },
      { staleSeconds: 120, idleSeconds: 300 },
    );
    expect(fresh.readiness).toBe('working');
    expect(fresh.evidence.join('\n')).toMatch(/clock skew/);
  });
});
