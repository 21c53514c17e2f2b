/**
 * The real program: `node bin/mosaic-top --once --json` validated against
 * schema/snapshot.schema.json, the `--once` table, and `demo up` / `demo down`; the shape of
 * `mosaic-top heartbeat` (output, exit codes) run in this process (test/helpers/cli.ts).
 * Needs a build (`npx tsc -p .`); `npm test` builds first.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson, readJsonFile } from '../helpers/json.js';
import { at, must } from '../helpers/must.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE_BIN = path.join(ROOT, 'test', 'fixtures', 'bin');
const execFileAsync = promisify(execFile);
// The parsed-roster cache of the programs under test goes to a throwaway dir, not ~/.cache.
const CACHE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-once-cache-'));
afterAll(() => fs.rmSync(CACHE_HOME, { recursive: true, force: true }));

/** The environment of the program under test: fake systemctl first on PATH, own roster cache. */
function programEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FIXTURE_BIN}:${process.env.PATH}`, MOSAIC_HOME: '', XDG_CACHE_HOME: CACHE_HOME, ...env };
}

function mosaicTop(args: string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return runBin(args, programEnv(env));
}

/** The program run in this process (test/helpers/cli.ts): for a verb's output and exit code, and read-backs. */
function mosaicTopIn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return runCliInProcess(args, programEnv(env));
}

const validator = snapshotValidator;

describe('mosaic-top --once (real program)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  beforeEach(async () => {
    tmux = await startIsolatedTmux('once');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-once-'));
  });
  afterEach(async () => {
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('--once --json validates against the schema, masks DATABASE_URL, and exits 0 despite probe errors', async () => {
    writeHomeRoster(home, tmux.socket, [
      { name: 'orchestrator', runtime: 'sleep', class: 'orchestrator' },
      { name: 'enhancer', runtime: 'pi', class: 'enhancer' },
      { name: 'ghost', runtime: 'claude' },
    ]);
    await tmux.newSession('orchestrator', ['sleep', '600']);
    await tmux.newSession('enhancer', ['sleep', '600']);
    await tmux.newSession('stray', ['sleep', '600']);
    writeHeartbeat(path.join(home, 'fleet', 'run'), 'orchestrator', { state: 'busy', note: 'evil \u001b]0;x\u0007 note' });
    fs.writeFileSync(path.join(home, 'fleet', 'run', 'enhancer.hb'), 'ts=garbage\n');

    const r = await mosaicTop(['--mosaic-home', home, '--once', '--json'], {
      DATABASE_URL: 'postgres://u:s3cret@db.example/mosaic',
      MT_SYSTEMCTL_MODE: 'nobus',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    const snapshot = JSON.parse(r.stdout) as Snapshot;
    const validate = validator();
    const valid = validate(snapshot);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(Number.isNaN(Date.parse(snapshot.generatedAt))).toBe(false);
    expect(snapshot.schema).toBe('mosaic-top/snapshot@1');
    expect(snapshot.tenant).toBe(os.userInfo().username);
    expect(snapshot.paths.databaseUrl).toBe('postgres://u:***@db.example/mosaic');
    expect(snapshot.agents.map((a: { readiness: string }) => a.readiness)).toEqual(['working', 'working', 'dead']);
    expect(at(snapshot.agents, 1).flags).toEqual(['DRIFT']);
    expect(snapshot.unmanaged.map((u: { session: string }) => u.session)).toEqual(['stray']);
    expect(must(snapshot.probes.systemd, 'systemd probe').ok).toBe(false);

    // A schema violation is caught (the validator is not vacuous).
    expect(validate({ ...snapshot, agents: [{ ...snapshot.agents[0], readiness: 'sleeping' }] })).toBe(false);
    // An unmasked password is a schema violation too.
    expect(validate({ ...snapshot, paths: { ...snapshot.paths, databaseUrl: 'postgres://u:s3cret@db/x' } })).toBe(false);

    // The default (embedded) tier: no DATABASE_URL ⇒ databaseUrl null, still valid (in this process).
    const embedded = await mosaicTopIn(['--mosaic-home', home, '--once', '--json'], { DATABASE_URL: '', MT_SYSTEMCTL_MODE: 'nobus' });
    expect(embedded.code).toBe(0);
    const embeddedSnapshot = readJson<Snapshot>(embedded.stdout);
    expect(embeddedSnapshot.paths.databaseUrl).toBeNull();
    expect(validate(embeddedSnapshot)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('--once prints a readable, sanitized table; a missing roster is an error line, exit 0', async () => {
    // In this process; the table below is the real program's.
    const missing = await mosaicTopIn(['--mosaic-home', home, '--once']);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain('roster not found');

    fs.mkdirSync(path.join(home, 'fleet'), { recursive: true });
    fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), `tmux:\n  socket_name: ${tmux.socket}\nagents:\n  - name: a1\n    runtime: sleep\n`);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(path.join(home, 'fleet', 'run'), 'a1', { state: 'idle', card: 'K9' });
    // A hostile session name must reach the table inert.
    await tmux.newSession('bad\u001b[31mname', ['sleep', '600']);
    const r = await mosaicTop(['--mosaic-home', home, '--once'], { MT_SYSTEMCTL_MODE: 'nobus' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('! systemd: systemd unavailable: Failed to connect to bus: No medium found');
    expect(r.stdout).toMatch(/AGENT\s+CLASS\s+RUNTIME\s+READINESS/);
    expect(r.stdout).toMatch(/a1\s+-\s+sleep\s+available/);
    expect(r.stdout).not.toContain('\u001b');
  });
});

describe('mosaic-top heartbeat (in process)', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hbcli-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('writes a v1 beat; refuses bad input with exit 2 and writes nothing', async () => {
    const ok = await mosaicTopIn([
      '--mosaic-home',
      home,
      'heartbeat',
      'coder1',
      '--state',
      'busy',
      '--card',
      'A3a',
      '--note',
      'two\nlines',
      '--interval',
      '30',
      '--pid',
      '4242',
    ]);
    expect(ok.code).toBe(0);
    const text = fs.readFileSync(path.join(home, 'fleet', 'run', 'coder1.hb'), 'utf8');
    expect(text).toMatch(/^v=1\nts=\d+\nstate=busy\ninterval=30\npid=4242\ncard=A3a\nnote=two lines\n$/);

    const noPid = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coder2', '--state', 'idle']);
    expect(noPid.code).toBe(0);
    expect(fs.readFileSync(path.join(home, 'fleet', 'run', 'coder2.hb'), 'utf8')).toMatch(/^v=1\nts=\d+\nstate=idle\n$/);
    fs.rmSync(path.join(home, 'fleet', 'run', 'coder2.hb'));

    const badState = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coder1', '--state', 'sleeping']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/busy, idle|busy|idle/);
    const noState = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coder1']);
    expect(noState.code).toBe(2);
    expect(noState.stderr).toContain("required option '--state <state>' not specified");
    const badPid = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coder1', '--state', 'idle', '--pid', 'abc']);
    expect(badPid.code).toBe(2);
    expect(badPid.stderr).toContain('--pid must be a positive integer, got "abc"');
    const badName = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', '../x', '--state', 'idle']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('invalid agent name');
    expect(fs.readdirSync(path.join(home, 'fleet', 'run'))).toEqual(['coder1.hb']);

    // An I/O failure (the home is a regular file) is exit 1 with the reason.
    const file = path.join(home, 'not-a-dir');
    fs.writeFileSync(file, '');
    const io = await mosaicTopIn(['--mosaic-home', file, 'heartbeat', 'coder1', '--state', 'idle']);
    expect(io.code).toBe(1);
    expect(io.stderr).toMatch(/ENOTDIR|not a directory/);
  });

  it('warns (exit 0, beat written) when the agent is not in the roster: a typo in a hook would leave the real agent unknown', async () => {
    fs.mkdirSync(path.join(home, 'fleet'), { recursive: true });
    fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), 'agents:\n  - { name: coder1, runtime: claude }\n');
    const known = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coder1', '--state', 'busy', '--json']);
    expect([known.code, known.stderr]).toEqual([0, '']);
    expect(JSON.parse(known.stdout)).toMatchObject({ ok: true, inRoster: true });
    const typo = await mosaicTopIn(['--mosaic-home', home, 'heartbeat', 'coderl', '--state', 'busy', '--json']);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toBe(
      `mosaic-top heartbeat: warning: agent "coderl" is not in the roster ${path.join(home, 'fleet', 'roster.yaml')}; no console row reads this beat\n`,
    );
    expect(JSON.parse(typo.stdout)).toMatchObject({ ok: true, inRoster: false });
    expect(fs.existsSync(path.join(home, 'fleet', 'run', 'coderl.hb'))).toBe(true);
  });
});

/** Tears down every demo fleet on `socket` whose `demo up` did not report its home (by its demo.json in the temp dir). */
async function demoDownBySocket(socket: string): Promise<void> {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mosaic-top-demo-'))) {
    const home = path.join(os.tmpdir(), name);
    const record = (() => {
      try {
        return readJsonFile<{ socket?: string }>(path.join(home, 'demo.json'));
      } catch {
        return null;
      }
    })();
    if (record?.socket === socket) await mosaicTop(['--mosaic-home', home, 'demo', 'down']);
  }
  await execFileAsync('tmux', ['-L', socket, 'kill-server']).catch(() => undefined);
}

describe('mosaic-top demo (real program)', () => {
  it('demo up ⇒ snapshot shows the expected readiness and flags ⇒ demo down leaves no server, process or home', { timeout: 120_000 }, async () => {
    const socket = `mt-demo-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const up = await mosaicTop(['demo', 'up', '--socket', socket, '--json']);
    // stderr may carry progress (e.g. the backlog's first initdb); success is the exit code.
    // A `demo up` that failed or was cut off half-way leaves no fleet behind either.
    if (up.code !== 0) await demoDownBySocket(socket);
    expect(up.code, up.stderr).toBe(0);
    const { mosaicHome } = JSON.parse(up.stdout) as { mosaicHome: string };
    let serverPid: number | null = null;
    try {
      serverPid = readJsonFile<{ serverPid: number }>(path.join(mosaicHome, 'demo.json')).serverPid;
      expect(serverPid).toBeGreaterThan(1);
      const snapshot = await waitFor(
        async () => {
          const r = await mosaicTopIn(['--mosaic-home', mosaicHome, '--once', '--json'], { MT_SYSTEMCTL_MODE: 'nobus' });
          const s = JSON.parse(r.stdout) as Snapshot;
          const by = Object.fromEntries(s.agents.map((a: { name: string; readiness: string }) => [a.name, a.readiness]));
          const driftSeen = s.agents.find((a: { name: string }) => a.name === 'canary-pi')?.flags.includes('DRIFT');
          return by.research === 'dead' && by.orchestrator !== 'unknown' && driftSeen ? s : null;
        },
        'demo fleet settles (research dead, DRIFT seen)',
        { timeoutMs: 20_000, intervalMs: 300 },
      );
      const rows = Object.fromEntries(snapshot.agents.map((a) => [a.name, a]));
      const by = (name: string) => must(rows[name], `row ${name}`);
      expect(by('reviewer').readiness).toBe('stale');
      expect(by('research').readiness).toBe('dead');
      expect(by('research').pane?.dead).toBe(true);
      for (const n of ['orchestrator', 'enhancer', 'coder1', 'canary-pi']) expect(['working', 'available']).toContain(by(n).readiness);
      // No flag but IDLE-WITH-WORK (upstream NS-3), and that one only on an available agent: the demo backlog has ready cards.
      for (const n of ['orchestrator', 'enhancer', 'coder1']) {
        expect(by(n).flags.filter((f: string) => f !== 'IDLE-WITH-WORK')).toEqual([]);
        if (by(n).flags.includes('IDLE-WITH-WORK')) expect(by(n).readiness).toBe('available');
      }
      expect(by('canary-pi').flags.filter((f: string) => f !== 'IDLE-WITH-WORK')).toEqual(['DRIFT']);
      expect(snapshot.unmanaged.map((u: { session: string }) => u.session)).toEqual(['scratch']);
      expect(snapshot.fleet.floor.ok).toBe(true);
      expect(snapshot.fleet.holderSession).toBe('_holder');

      // The sim agent acknowledges input typed into its pane.
      await execFileAsync('tmux', ['-L', socket, 'send-keys', '-t', '=coder1:0.0', '-l', 'hello sim']);
      await execFileAsync('tmux', ['-L', socket, 'send-keys', '-t', '=coder1:0.0', 'Enter']);
      await waitFor(
        async () => (await execFileAsync('tmux', ['-L', socket, 'capture-pane', '-p', '-t', '=coder1:0.0'])).stdout.includes('ack: hello sim'),
        'ack in pane',
      );
    } finally {
      const down = await mosaicTop(['--mosaic-home', mosaicHome, 'demo', 'down']);
      expect(down.code).toBe(0);
    }
    expect(fs.existsSync(mosaicHome)).toBe(false);
    const ls = await execFileAsync('tmux', ['-L', socket, 'list-sessions']).then(
      () => 'alive',
      () => 'gone',
    );
    expect(ls).toBe('gone');
    const alive = (() => {
      try {
        process.kill(serverPid!, 0);
        return true;
      } catch {
        return false;
      }
    })();
    expect(alive).toBe(false);
    // No sim agent of this demo survives.
    const procs = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((d) => {
        try {
          return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      });
    expect(procs.filter((c) => c.includes(mosaicHome))).toEqual([]);
  });

  it('demo down refuses a directory that is not a demo home', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-notdemo-'));
    try {
      fs.writeFileSync(path.join(dir, 'precious'), 'keep me');
      // A refusal's exit code and line: in this process (`demo down` of a real demo is the real program's, above).
      const r = await mosaicTopIn(['--mosaic-home', dir, 'demo', 'down']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not a demo home');
      expect(fs.readFileSync(path.join(dir, 'precious'), 'utf8')).toBe('keep me');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
