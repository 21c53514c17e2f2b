/**
 * Faults: hostile files in the fleet's dirs against the REAL program.
 * A FIFO, a symlink to /dev/zero or a directory in place of the roster, `PAUSED`, an agent's
 * `.env`, its heartbeat and NORTH_STAR.yaml: every command returns within its bound with the
 * path named, the console still quits on q and ctrl-c. A 50 MB `PAUSED` shows a capped reason;
 * a heartbeat with a future `ts` from a dead writer goes stale; duplicate NORTH_STAR ids and an
 * alias bomb are refused naming the file; roster merge keys resolve; read-only verbs create no
 * data dir. Needs a build (`npx tsc -p tsconfig.json`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { expectOneLineError, expectQuitsOn, freshHome, runBounded, startConsole, untilScreen } from './harness.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';

type Plant = 'fifo' | 'devzero' | 'directory';
const PLANTS: Plant[] = ['fifo', 'devzero', 'directory'];

/** Puts a FIFO, a symlink to /dev/zero or a directory at `file` (replacing what is there). */
function plant(file: string, kind: Plant): void {
  fs.rmSync(file, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (kind === 'fifo') execFileSync('mkfifo', [file]);
  else if (kind === 'devzero') fs.symlinkSync('/dev/zero', file);
  else fs.mkdirSync(file);
}

const KIND_TEXT: Record<Plant, RegExp> = {
  fifo: /a FIFO, not a regular file/,
  devzero: /a character device, not a regular file/,
  directory: /a directory, not a regular file/,
};

describe('faults: hostile files (real program)', () => {
  let tmux: IsolatedTmux;
  let ui: IsolatedTmux;
  const homes: string[] = [];
  beforeAll(async () => {
    tmux = await startIsolatedTmux('fault-files');
    ui = await startIsolatedTmux('fault-files-ui');
    await tmux.newSession('coder1', ['sleep', '3600']);
  });
  afterAll(async () => {
    await ui?.stop();
    await tmux?.stop();
  });
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome();
    homes.push(h.home);
    writeHomeRoster(h.home, tmux.socket, [{ name: 'coder1', runtime: 'sleep', class: 'coder' }]);
    return h;
  };
  const runDir = (h: string) => path.join(h, 'fleet', 'run');

  for (const kind of PLANTS) {
    it(`--once with a ${kind} in place of the roster, PAUSED, the .env and the heartbeat: returns, names each path`, async () => {
      const { home: h, env } = home();
      const roster = path.join(h, 'fleet', 'roster.yaml');
      const hb = path.join(runDir(h), 'coder1.hb');
      const paused = path.join(runDir(h), 'PAUSED');
      const dotenv = path.join(h, 'fleet', 'agents', 'coder1.env');
      // First the beat, PAUSED and .env with a good roster (the agent row exists).
      for (const f of [hb, paused, dotenv]) plant(f, kind);
      let r = await runBounded(['--mosaic-home', h, '--once', '--json'], env);
      expect(r.killed, r.stderr).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      let snap = readJson<Snapshot>(r.stdout);
      // Fail closed: PAUSED unreadable still pauses, and says why.
      expect(snap.fleet.paused?.reason).toMatch(new RegExp(`PAUSED unreadable: ${paused}: ${KIND_TEXT[kind].source}`));
      const row = snap.agents.find((a: { name: string }) => a.name === 'coder1');
      expect(row?.readiness).toBe('unknown');
      expect(row?.evidence.join('\n')).toMatch(new RegExp(`${hb} unreadable: ${KIND_TEXT[kind].source}`));
      // Then the roster itself.
      plant(roster, kind);
      r = await runBounded(['--mosaic-home', h, '--once', '--json'], env);
      expect(r.killed, r.stderr).toBe(false);
      expect(r.code).toBe(0);
      snap = readJson<Snapshot>(r.stdout);
      expect(snap.errors.join('\n')).toMatch(new RegExp(`${roster}: ${KIND_TEXT[kind].source}`));
    });

    it(`backlog import of a NORTH_STAR that is a ${kind}: one line naming the file, exit 2`, async () => {
      const { home: h, env } = home();
      const file = path.join(h, 'NORTH_STAR.yaml');
      plant(file, kind);
      const r = await runBounded(['--mosaic-home', h, 'backlog', 'import', file], env);
      expectOneLineError(r, 2, new RegExp(`${file}: ${KIND_TEXT[kind].source}`));
    });
  }

  it('the console with a FIFO roster and a FIFO PAUSED still quits on q, and on ctrl-c', async () => {
    for (const key of ['q', 'C-c'] as const) {
      const { home: h } = home();
      plant(path.join(h, 'fleet', 'roster.yaml'), 'fifo');
      plant(path.join(runDir(h), 'PAUSED'), 'fifo');
      const session = `fifo-${key === 'q' ? 'q' : 'cc'}`;
      await startConsole(ui, session, h);
      await untilScreen(ui, session, (s) => s.includes('not a regular file') && s.includes('PAUSED'), 'the console up, naming the FIFO');
      await expectQuitsOn(ui, session, key);
    }
  });

  it('a 50 MB PAUSED: --once prints a capped reason', async () => {
    const { home: h, env } = home();
    fs.writeFileSync(path.join(runDir(h), 'PAUSED'), `at=2026-01-01T00:00:00Z\nby=ops\nreason=${'x'.repeat(50 * 1024 * 1024)}\n`);
    const r = await runBounded(['--mosaic-home', h, '--once'], env);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PAUSED');
    expect(r.stdout.length).toBeLessThan(10_000);
    const json = readJson<Snapshot>((await runBounded(['--mosaic-home', h, '--once', '--json'], env)).stdout);
    expect(json.fleet.paused?.reason?.length).toBeLessThanOrEqual(200);
  });

  it('a heartbeat with ts far in the future from a dead writer goes stale (age from the file mtime)', async () => {
    const { home: h, env } = home();
    const hb = path.join(runDir(h), 'coder1.hb');
    const now = Math.floor(Date.now() / 1000);
    fs.writeFileSync(hb, `v=1\nts=${now + 10 * 365 * 86400}\nstate=busy\ninterval=30\n`);
    // Its writer died two hours ago.
    fs.utimesSync(hb, now - 7200, now - 7200);
    const snap = readJson<Snapshot>((await runBounded(['--mosaic-home', h, '--once', '--json'], env)).stdout);
    const row = snap.agents.find((a: { name: string }) => a.name === 'coder1');
    expect(row?.heartbeat?.ageSeconds).toBeGreaterThanOrEqual(7000);
    expect(row?.heartbeat?.skewSeconds).toBeGreaterThan(0);
    expect(row?.readiness).not.toBe('working');
  });

  it('heartbeat: an error never echoes a raw ESC', async () => {
    const { home: h, env } = home();
    const r = await runBounded(['--mosaic-home', h, 'heartbeat', 'coder1', '--state', 'busy', '--card', 'A\u001b]0;pwned\u0007'], env);
    expectOneLineError(r, 2, /^mosaic-top heartbeat: heartbeat card id must not contain/);
    const r2 = await runBounded(['--mosaic-home', h, 'heartbeat', 'bad\u001b[2Jname', '--state', 'busy'], env);
    expectOneLineError(r2, 2, /invalid agent name "bad\^\[\[2Jname"/);
  });

  it('NORTH_STAR: duplicate ids are an error naming them; an alias bomb an error naming the file', async () => {
    const { home: h, env } = home();
    const dup = path.join(h, 'dup.yaml');
    fs.writeFileSync(dup, 'goals:\n  - {id: A1, title: one}\n  - {id: B2, title: two}\n  - {id: A1, title: three}\n');
    expectOneLineError(await runBounded(['--mosaic-home', h, 'backlog', 'import', dup], env), 2, new RegExp(`${dup}: duplicate goal id A1`));
    const bomb = path.join(h, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 7; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    levels.push('goals: [*g]');
    fs.writeFileSync(bomb, `${levels.join('\n')}\n`);
    expectOneLineError(await runBounded(['--mosaic-home', h, 'backlog', 'import', bomb], env), 2, new RegExp(`${bomb}: .*alias`));
    // Neither attempt created a backlog.
    expect(fs.existsSync(path.join(h, 'fleet', 'backlog'))).toBe(false);
  });

  it('roster YAML merge keys (<<: *base) resolve', async () => {
    const { home: h, env } = home();
    fs.writeFileSync(
      path.join(h, 'fleet', 'roster.yaml'),
      `version: 1\ntmux:\n  socket_name: ${tmux.socket}\n  holder_session: _keepalive\nx-base: &base\n  runtime: sleep\n  class: coder\nagents:\n  - <<: *base\n    name: coder1\n  - <<: *base\n    name: coder2\n    class: reviewer\n`,
    );
    const snap = readJson<Snapshot>((await runBounded(['--mosaic-home', h, '--once', '--json'], env)).stdout);
    expect(snap.errors.filter((e: string) => e.startsWith('roster'))).toEqual([]);
    expect(snap.agents.map((a) => [a.name, a.runtime, a.class])).toEqual([
      ['coder1', 'sleep', 'coder'],
      ['coder2', 'sleep', 'reviewer'],
    ]);
  });

  it('read-only verbs (show, list, stats, events) do not create the data dir: exit 8', async () => {
    const { home: h, env } = home();
    for (const verb of [['show', '--id', 'A1'], ['list'], ['stats'], ['events']]) {
      const r = await runBounded(['--mosaic-home', h, 'backlog', ...verb], env);
      expectOneLineError(r, 8, /no backlog yet at .*a read-only command does not create one/);
    }
    expect(fs.existsSync(path.join(h, 'fleet', 'backlog'))).toBe(false);
  });
});
