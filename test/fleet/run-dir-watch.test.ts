/**
 * The watched run dir (fleet/dir-watch.ts, fleet/run-dir-watch.ts) on real directories with
 * real inotify: reads are counted (done vs answered from a kept read), never timed. Every change
 * a plain read sees is seen through the watch too — beats, PAUSED, env files, a run dir removed
 * and made again, an agents dir created later, a symlinked beat — and the snapshot sees a beat
 * change and a pause with push on (watched readers) and with push off (plain readers).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readHeartbeat, writeHeartbeat, type HeartbeatRead } from '../../fleet/heartbeat.js';
import { isPausedChange, PLAIN_RUN_DIR_READERS, plainRunDirReaders, RunDirWatch } from '../../fleet/run-dir-watch.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { writeTestRoster } from '../helpers/roster.js';
import { waitFor } from '../helpers/tmux.js';
import { at } from '../helpers/must.js';

let home: string;
let paths: MosaicPaths;
let watch: RunDirWatch | null = null;
/** Change events seen by the watch: `<dir basename>/<name>`. */
let events: string[] = [];

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rundir-'));
  paths = resolvePaths({ mosaicHome: home }, {});
  fs.mkdirSync(paths.runDir, { recursive: true });
  events = [];
});
afterEach(() => {
  vi.restoreAllMocks();
  watch?.close();
  watch = null;
  fs.rmSync(home, { recursive: true, force: true });
});

function newWatch(opts: { fullEveryMs?: number; now?: () => number } = {}): RunDirWatch {
  watch = new RunDirWatch({ ...opts, onChange: (dir, name) => events.push(`${path.basename(dir)}/${name ?? '*'}`) });
  return watch;
}

/** Waits until the watch reported an event for `name` (the kernel delivers it through the event loop). */
async function eventFor(name: string): Promise<void> {
  await waitFor(() => events.some((e) => e.endsWith(`/${name}`)), `a change event for ${name}`);
}

describe('RunDirWatch: beats', () => {
  it('reads a beat once, then only after it is rewritten; kept beats age like fresh ones', async () => {
    const w = newWatch();
    const now = Math.floor(Date.now() / 1000);
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy', ts: now - 5 });
    expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.ageSeconds).toBe(5);
    expect(w.stats.reads).toBe(1);
    for (let i = 1; i <= 10; i++) {
      const kept = w.heartbeat(paths.runDir, 'a1', now + i);
      expect(kept).toEqual(readHeartbeat(paths.runDir, 'a1', now + i));
    }
    expect(w.stats).toMatchObject({ reads: 1, skipped: 10 });
    writeHeartbeat(paths.runDir, 'a1', { state: 'waiting', reason: 'permission', ts: now + 10 });
    await eventFor('a1.hb');
    expect(w.heartbeat(paths.runDir, 'a1', now + 11).heartbeat).toMatchObject({ state: 'waiting', reason: 'permission', ageSeconds: 1 });
    expect(w.stats.reads).toBe(2);
  });

  it('re-reads a kept beat whose ts is in the future (its age comes from the file times), and when the clock goes back', () => {
    const w = newWatch();
    const now = Math.floor(Date.now() / 1000);
    writeHeartbeat(paths.runDir, 'skew', { state: 'busy', ts: now + 100 });
    writeHeartbeat(paths.runDir, 'ok', { state: 'idle', ts: now - 1 });
    w.heartbeat(paths.runDir, 'skew', now);
    w.heartbeat(paths.runDir, 'ok', now);
    const reads = w.stats.reads;
    expect(w.heartbeat(paths.runDir, 'skew', now + 3)).toEqual(readHeartbeat(paths.runDir, 'skew', now + 3));
    expect(w.stats.reads).toBe(reads + 1);
    expect(w.heartbeat(paths.runDir, 'ok', now - 10)).toEqual(readHeartbeat(paths.runDir, 'ok', now - 10));
    expect(w.stats.reads).toBe(reads + 2);
  });

  it('100 agents over 5 ticks: 100 reads, then only the 3 rewritten beats are read again', async () => {
    const w = newWatch();
    const names = Array.from({ length: 100 }, (_, i) => `a${i}`);
    for (const n of names) writeHeartbeat(paths.runDir, n, { state: 'busy' });
    const tick = (now: number) => names.map((n) => w.heartbeat(paths.runDir, n, now));
    const now = Date.now() / 1000;
    for (let t = 0; t < 5; t++) tick(now + t);
    expect(w.stats).toMatchObject({ reads: 100, skipped: 400 });
    for (const n of ['a3', 'a50', 'a99']) writeHeartbeat(paths.runDir, n, { state: 'stuck', reason: 'rate limit' });
    await eventFor('a3.hb');
    await eventFor('a50.hb');
    await eventFor('a99.hb');
    const seen = tick(now + 6);
    expect(w.stats.reads).toBe(103);
    expect(seen.filter((r) => r.heartbeat?.state === 'stuck')).toHaveLength(3);
  });

  it('sees a beat that appears, a beat removed, and a touch of a legacy ts-less beat (its age is its mtime)', async () => {
    const w = newWatch();
    const now = Math.floor(Date.now() / 1000);
    expect(w.heartbeat(paths.runDir, 'late', now).heartbeat).toBeNull();
    writeHeartbeat(paths.runDir, 'late', { state: 'idle' });
    await eventFor('late.hb');
    expect(w.heartbeat(paths.runDir, 'late', now).heartbeat?.state).toBe('idle');
    fs.rmSync(path.join(paths.runDir, 'late.hb'));
    events = [];
    await eventFor('late.hb');
    expect(w.heartbeat(paths.runDir, 'late', now).heartbeat).toBeNull();

    const legacy = path.join(paths.runDir, 'old.hb');
    fs.writeFileSync(legacy, 'state=busy\n');
    fs.utimesSync(legacy, now - 600, now - 600);
    await eventFor('old.hb');
    expect(w.heartbeat(paths.runDir, 'old', now).heartbeat?.ageSeconds).toBe(600);
    events = [];
    fs.utimesSync(legacy, now - 2, now - 2);
    await eventFor('old.hb');
    expect(w.heartbeat(paths.runDir, 'old', now).heartbeat?.ageSeconds).toBe(2);
  });
});

describe('RunDirWatch: PAUSED and env files', () => {
  it('PAUSED: created, changed and removed are seen, and reported as a pause change', async () => {
    const w = newWatch();
    expect(w.paused(paths.runDir)).toBeNull();
    expect(w.paused(paths.runDir)).toBeNull();
    expect(w.stats).toMatchObject({ reads: 1, skipped: 1 });
    fs.writeFileSync(path.join(paths.runDir, 'PAUSED'), 'by=ops\nreason=deploy\n');
    await eventFor('PAUSED');
    expect(w.paused(paths.runDir)).toMatchObject({ by: 'ops', reason: 'deploy' });
    expect(isPausedChange('PAUSED')).toBe(true);
    expect(isPausedChange('a1.hb')).toBe(false);
    events = [];
    fs.rmSync(path.join(paths.runDir, 'PAUSED'));
    await eventFor('PAUSED');
    expect(w.paused(paths.runDir)).toBeNull();
  });

  it('a missing agents dir is watched through its parent: its later creation and env files are seen', async () => {
    const w = newWatch();
    expect(fs.existsSync(paths.agentsDir)).toBe(false);
    for (let i = 0; i < 3; i++) expect(w.agentEnv(paths.agentsDir, 'a1')).toEqual({});
    expect(w.stats).toMatchObject({ reads: 1, skipped: 2 });
    fs.mkdirSync(paths.agentsDir);
    await eventFor('agents');
    fs.writeFileSync(path.join(paths.agentsDir, 'a1.env'), 'MOSAIC_AGENT_RUNTIME=codex\n');
    // The dir's own watch starts at the next read; a write before it is read directly.
    expect(w.agentEnv(paths.agentsDir, 'a1')).toEqual({ MOSAIC_AGENT_RUNTIME: 'codex' });
    events = [];
    fs.writeFileSync(path.join(paths.agentsDir, 'a1.env'), 'MOSAIC_AGENT_RUNTIME=pi\n');
    await eventFor('a1.env');
    expect(w.agentEnv(paths.agentsDir, 'a1')).toEqual({ MOSAIC_AGENT_RUNTIME: 'pi' });
  });
});

describe('RunDirWatch: the run dir replaced, symlinks, the safety net', () => {
  it('a run dir removed and made again: the new dir is watched and its beats read', async () => {
    const w = newWatch();
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
    const now = Date.now() / 1000;
    expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('busy');
    fs.rmSync(paths.runDir, { recursive: true });
    await waitFor(() => w.stats.watchesLost > 0, 'the lost watch');
    fs.mkdirSync(paths.runDir);
    writeHeartbeat(paths.runDir, 'a1', { state: 'idle' });
    expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('idle');
    events = [];
    writeHeartbeat(paths.runDir, 'a1', { state: 'waiting' });
    await eventFor('a1.hb');
    expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('waiting');
  });

  it('a symlinked beat is never kept (its target changes without an event here)', () => {
    const w = newWatch();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rundir-target-'));
    try {
      writeHeartbeat(elsewhere, 'a1', { state: 'busy' });
      fs.symlinkSync(path.join(elsewhere, 'a1.hb'), path.join(paths.runDir, 'a1.hb'));
      const now = Date.now() / 1000;
      expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('busy');
      writeHeartbeat(elsewhere, 'a1', { state: 'idle' });
      expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('idle');
      expect(w.stats).toMatchObject({ reads: 2, skipped: 0 });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('the safety net re-reads everything every fullEveryMs; a closed watch reads the disk each time', () => {
    let clock = 1_000_000;
    const w = newWatch({ fullEveryMs: 30_000, now: () => clock });
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
    const now = Date.now() / 1000;
    w.heartbeat(paths.runDir, 'a1', now);
    w.heartbeat(paths.runDir, 'a1', now);
    expect(w.stats).toMatchObject({ reads: 1, skipped: 1, fullRereads: 0 });
    clock += 30_000;
    w.heartbeat(paths.runDir, 'a1', now);
    expect(w.stats).toMatchObject({ reads: 2, fullRereads: 1 });
    w.close();
    w.heartbeat(paths.runDir, 'a1', now);
    w.heartbeat(paths.runDir, 'a1', now);
    expect(w.stats).toMatchObject({ reads: 4, skipped: 1 });
  });
});

describe('RunDirWatch: the safety net confirms unchanged files by their stamp', () => {
  it("beats and env files unchanged since their read are kept after one lstat each; their answers are a fresh read's", () => {
    // The clock runs 5 s ahead: every file here was last changed over a second before its read.
    let clock = Date.now() + 5000;
    const w = newWatch({ fullEveryMs: 30_000, now: () => clock });
    const now = Math.floor(Date.now() / 1000);
    const names = ['a1', 'a2', 'a3'];
    for (const n of names) writeHeartbeat(paths.runDir, n, { state: 'busy', ts: now - 3 });
    fs.mkdirSync(paths.agentsDir);
    fs.writeFileSync(path.join(paths.agentsDir, 'a1.env'), 'MOSAIC_AGENT_RUNTIME=codex\n');
    const tick = (t: number) => names.map((n) => ({ beat: w.heartbeat(paths.runDir, n, t), env: w.agentEnv(paths.agentsDir, n) }));
    tick(now);
    expect(w.stats).toMatchObject({ reads: 6, verified: 0 });
    clock += 30_000;
    const lstat = vi.spyOn(fs, 'lstatSync');
    const after = tick(now + 30);
    // Three beats, one env file and two missing env files: confirmed, none read.
    expect(w.stats).toMatchObject({ reads: 6, verified: 6, fullRereads: 1 });
    expect(lstat).toHaveBeenCalledTimes(6);
    expect(after.map((x) => x.beat)).toEqual(names.map((n) => readHeartbeat(paths.runDir, n, now + 30)));
    expect(after.map((x) => x.env)).toEqual([{ MOSAIC_AGENT_RUNTIME: 'codex' }, {}, {}]);
    // Until the next safety net they are kept as before.
    tick(now + 31);
    expect(w.stats).toMatchObject({ reads: 6, verified: 6, skipped: 6 });
  });

  it('a change whose event has not arrived yet is read at the safety net (the stamp differs)', () => {
    let clock = Date.now() + 5000;
    const w = newWatch({ fullEveryMs: 30_000, now: () => clock });
    const now = Math.floor(Date.now() / 1000);
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy', ts: now - 3 });
    fs.mkdirSync(paths.agentsDir);
    expect(w.heartbeat(paths.runDir, 'a1', now).heartbeat?.state).toBe('busy');
    expect(w.agentEnv(paths.agentsDir, 'a1')).toEqual({});
    // Written and read in the same turn of the event loop: no event can have been delivered.
    writeHeartbeat(paths.runDir, 'a1', { state: 'stuck', reason: 'rate limit', ts: now });
    fs.writeFileSync(path.join(paths.agentsDir, 'a1.env'), 'MOSAIC_AGENT_RUNTIME=pi\n');
    clock += 30_000;
    expect(w.heartbeat(paths.runDir, 'a1', now + 1).heartbeat).toMatchObject({ state: 'stuck', reason: 'rate limit' });
    expect(w.agentEnv(paths.agentsDir, 'a1')).toEqual({ MOSAIC_AGENT_RUNTIME: 'pi' });
    expect(w.stats).toMatchObject({ reads: 4, verified: 0 });
  });

  it('a beat read less than a second after its change is read again at the safety net, not confirmed', () => {
    let clock = Date.now();
    const w = newWatch({ fullEveryMs: 30_000, now: () => clock });
    const now = Math.floor(Date.now() / 1000);
    writeHeartbeat(paths.runDir, 'a1', { state: 'idle', ts: now });
    w.heartbeat(paths.runDir, 'a1', now);
    clock += 30_000;
    w.heartbeat(paths.runDir, 'a1', now + 1);
    expect(w.stats).toMatchObject({ reads: 2, verified: 0 });
  });
});

describe('plainRunDirReaders: one listing per directory per snapshot', () => {
  it('answers as the plain readers, touching only the files its listing holds', () => {
    const names = Array.from({ length: 50 }, (_, i) => `a${i}`);
    const now = Math.floor(Date.now() / 1000);
    for (const n of names.slice(0, 40)) writeHeartbeat(paths.runDir, n, { state: 'busy', ts: now - 1 });
    fs.mkdirSync(paths.agentsDir);
    fs.writeFileSync(path.join(paths.agentsDir, 'a7.env'), 'MOSAIC_AGENT_RUNTIME=codex\n');
    const want = names.map((n) => [PLAIN_RUN_DIR_READERS.heartbeat(paths.runDir, n, now), PLAIN_RUN_DIR_READERS.agentEnv(paths.agentsDir, n)]);
    const readers = plainRunDirReaders();
    const open = vi.spyOn(fs, 'openSync');
    const stat = vi.spyOn(fs, 'statSync');
    const fstat = vi.spyOn(fs, 'fstatSync');
    const readdir = vi.spyOn(fs, 'readdirSync');
    expect(names.map((n) => [readers.heartbeat(paths.runDir, n, now), readers.agentEnv(paths.agentsDir, n)])).toEqual(want);
    expect(readdir).toHaveBeenCalledTimes(2);
    // 40 beats and one env file opened and read, none stat'ed (the listing says they are regular
    // files, every beat has its ts); nothing for the 10 missing beats and 49 missing env files.
    expect(open).toHaveBeenCalledTimes(41);
    expect(stat).toHaveBeenCalledTimes(0);
    expect(fstat).toHaveBeenCalledTimes(0);
    // A file made after the listing is seen by the next snapshot's readers.
    writeHeartbeat(paths.runDir, 'a45', { state: 'idle', ts: now });
    expect(readers.heartbeat(paths.runDir, 'a45', now).heartbeat).toBeNull();
    expect(plainRunDirReaders().heartbeat(paths.runDir, 'a45', now).heartbeat?.state).toBe('idle');
  });

  it('answers as the plain readers on odd files: FIFOs, symlinks, a directory, garbage, no ts, a future ts, a large file', () => {
    const now = Math.floor(Date.now() / 1000);
    const beat = (name: string, body: string | Buffer) => fs.writeFileSync(path.join(paths.runDir, `${name}.hb`), body);
    fs.mkdirSync(paths.agentsDir);
    const env = (name: string, body: string) => fs.writeFileSync(path.join(paths.agentsDir, `${name}.env`), body);
    execFileSync('mkfifo', [path.join(paths.runDir, 'fifo.hb'), path.join(paths.agentsDir, 'fifo.env')]);
    beat('ok', `v=1\nts=${now - 3}\nstate=idle\n`);
    fs.symlinkSync('ok.hb', path.join(paths.runDir, 'link.hb'));
    fs.mkdirSync(path.join(paths.runDir, 'dir.hb'));
    beat('garbage', Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 0x80]));
    beat('empty', '');
    beat('tsless', 'v=1\nstate=busy\n');
    fs.utimesSync(path.join(paths.runDir, 'tsless.hb'), now - 40, now - 40);
    beat('future', `v=1\nts=${now + 3600}\nstate=busy\n`);
    beat('futuremtime', `v=1\nts=${now + 3600}\nstate=busy\n`);
    fs.utimesSync(path.join(paths.runDir, 'futuremtime.hb'), now + 3600, now + 3600);
    beat('crlf', `v=1\r\nts=${now - 2}  # a comment\r\n# c\r\nbad\r\nstate=waiting\r\nreason=a\tb # kept\r\nnote=x # kept\r\n`);
    beat('large', `v=1\nts=${now - 1}\nstate=busy\n${'x=1\n'.repeat(2000)}`);
    beat('exact', `v=1\nts=${now - 1}\nstate=busy\n`.padEnd(4096, '#'));
    env('ok', 'MOSAIC_AGENT_RUNTIME=codex\n');
    env('large', `A=${'x'.repeat(70 * 1024)}\n`);
    fs.symlinkSync('ok.env', path.join(paths.agentsDir, 'link.env'));
    const names = ['ok', 'link', 'fifo', 'dir', 'garbage', 'empty', 'tsless', 'future', 'futuremtime', 'crlf', 'large', 'exact', 'missing'];
    const want = names.map((n) => [PLAIN_RUN_DIR_READERS.heartbeat(paths.runDir, n, now), PLAIN_RUN_DIR_READERS.agentEnv(paths.agentsDir, n)]);
    const fstat = vi.spyOn(fs, 'fstatSync');
    const readers = plainRunDirReaders();
    expect(names.map((n) => [readers.heartbeat(paths.runDir, n, now), readers.agentEnv(paths.agentsDir, n)])).toEqual(want);
    expect(want.filter(([hb]) => (hb as HeartbeatRead).error !== null).length).toBe(4);
    // The listed reads fstat only the beats that need their file's times (tsless, future,
    // futuremtime); the plain readers fstat what the listed reads hand them: five beats (link,
    // fifo, dir, empty, large) and two env files (link, fifo).
    expect(fstat.mock.calls.length).toBe(3 + 5 + 2);
  });

  it('answers missing without touching a file when the directory does not exist', () => {
    const readers = plainRunDirReaders();
    const open = vi.spyOn(fs, 'openSync');
    const stat = vi.spyOn(fs, 'statSync');
    for (const n of ['a1', 'a2', 'a3']) {
      expect(readers.heartbeat(paths.runDir.replace(/run$/, 'nowhere'), n, 0)).toEqual({ heartbeat: null, error: null });
      expect(readers.agentEnv(paths.agentsDir, n)).toEqual({});
    }
    expect(open).toHaveBeenCalledTimes(0);
    expect(stat).toHaveBeenCalledTimes(0);
  });

  it('reads file by file when the directory cannot be listed', () => {
    const readers = plainRunDirReaders();
    const missing = path.join(home, 'nowhere');
    expect(readers.heartbeat(missing, 'a1', 0)).toEqual({ heartbeat: null, error: null });
    expect(readers.agentEnv(missing, 'a1')).toEqual({});
  });
});

describe('the snapshot sees run dir changes with push on and off', () => {
  for (const push of [true, false]) {
    it(`a beat change, a pause and an env file (push ${push ? 'on' : 'off'})`, async () => {
      writeTestRoster(paths.roster, paths.runDir, null, [{ name: 'a1', runtime: 'sleep' }]);
      const readers = push ? newWatch() : PLAIN_RUN_DIR_READERS;
      const collect = () => collectSnapshot({ paths, includeBacklog: false, readScreens: false, runDirReaders: readers });
      writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
      const first = await collect();
      expect(at(first.agents, 0).heartbeat?.state).toBe('busy');
      expect(first.fleet.paused).toBeNull();
      writeHeartbeat(paths.runDir, 'a1', { state: 'stuck', reason: 'rate limit' });
      fs.writeFileSync(path.join(paths.runDir, 'PAUSED'), 'by=ops\n');
      if (push) {
        await eventFor('a1.hb');
        await eventFor('PAUSED');
      }
      const second = await collect();
      expect(at(second.agents, 0).heartbeat).toMatchObject({ state: 'stuck', reason: 'rate limit' });
      expect(second.fleet.paused).toMatchObject({ by: 'ops' });
      if (push) expect(watch?.stats.reads).toBe(5); // beat, PAUSED, env file; then the beat and PAUSED again
    });
  }
});
