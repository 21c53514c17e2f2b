/**
 * opencode's spend records (fleet/spend/opencode.ts) on a REAL SQLite database in WAL mode,
 * written with the `sqlite3` shell in opencode 1.18's own table layout (session, message with
 * its `data` JSON): completed assistant messages count once (output + reasoning), others not;
 * reads are incremental (no query when nothing changed, then only changed rows); a message
 * completed later counts then; sessions are attributed by the agents' scopes (database + cwd),
 * two agents in one cwd leave it unattributed; no sqlite3 on PATH is one line, nothing thrown.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpendMeter } from '../../fleet/spend/meter.js';
import { eventOfRow, OpencodeStore, opencodeDbPath, sqliteShell, type SqliteRunner } from '../../fleet/spend/opencode.js';
import { recordSource, scopeOf } from '../../fleet/spend/sources.js';
import { objectContaining } from '../helpers/matchers.js';
import { at } from '../helpers/must.js';

const SCHEMA = `PRAGMA journal_mode=WAL;
CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL, directory text NOT NULL, title text NOT NULL, version text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL);
CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);`;

let dir: string;
let db: string;
const sql = (statements: string) => execFileSync('sqlite3', [db, statements], { stdio: ['ignore', 'ignore', 'pipe'] });
const session = (id: string, cwd: string) => sql(`INSERT INTO session VALUES ('${id}', 'p', '${cwd}', 't', '1.18.33', 1, 1);`);
/** An assistant message as opencode writes it (tokens filled, `time.completed` once done). */
function message(
  id: string,
  ses: string,
  updated: number,
  t: { input: number; output: number; reasoning: number; read: number; write: number } | null,
  completed: number | null,
  role = 'assistant',
) {
  const data = {
    role,
    modelID: 'test-model',
    providerID: 'fake',
    tokens: t ? { total: 0, input: t.input, output: t.output, reasoning: t.reasoning, cache: { read: t.read, write: t.write } } : undefined,
    time: { created: updated - 1, ...(completed ? { completed } : {}) },
  };
  sql(
    `INSERT INTO message VALUES ('${id}', '${ses}', ${updated - 1}, ${updated}, '${JSON.stringify(data)}') ON CONFLICT(id) DO UPDATE SET time_updated = excluded.time_updated, data = excluded.data;`,
  );
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-spend-oc-'));
  db = opencodeDbPath(path.join(dir, 'share'));
  fs.mkdirSync(path.dirname(db), { recursive: true });
  sql(SCHEMA);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('opencode records', () => {
  it('a row: completed with tokens counts, output includes reasoning; else nothing', () => {
    expect(eventOfRow({ id: 'm1', completed: 5000, model: 'x', input: 115, output: 40, reasoning: 3, cache_read: 1083, cache_write: 0 })).toEqual({
      at: 5000,
      model: 'x',
      key: 'm1',
      cacheWrite1h: 0,
      tokens: { input: 115, output: 43, cacheRead: 1083, cacheWrite: 0, reasoning: 3, total: 1241 },
    });
    expect(eventOfRow({ id: 'm1', completed: null, input: 5 })).toBeNull();
    expect(eventOfRow({ id: 'm1', completed: 5000 })).toBeNull();
  });

  it('reads incrementally: no query when unchanged, then only rows updated since; a message completed later counts then', () => {
    const queries: string[] = [];
    const runner: SqliteRunner = (file, q) => (queries.push(q), sqliteShell(file, q));
    const store = new OpencodeStore(runner);
    session('ses_a', '/work/a');
    message('msg_u', 'ses_a', 1000, null, null, 'user');
    message('msg_1', 'ses_a', 2000, { input: 100, output: 10, reasoning: 2, read: 1000, write: 0 }, 2000);
    message('msg_2', 'ses_a', 3000, { input: 0, output: 0, reasoning: 0, read: 0, write: 0 }, null);
    const first = store.read(db, 0);
    expect(first).toEqual([
      { id: 'ses_a', cwd: '/work/a', events: [objectContaining({ key: 'msg_1', tokens: objectContaining({ output: 12, total: 1112 }) })] },
    ]);
    expect(queries).toHaveLength(1);
    store.read(db, 0);
    expect(queries).toHaveLength(1);

    message('msg_2', 'ses_a', 4000, { input: 200, output: 20, reasoning: 0, read: 2000, write: 7 }, 4000);
    const second = store.read(db, 0);
    expect(queries).toHaveLength(2);
    expect(queries[1]).toContain('m.time_updated >= 3000');
    expect(at(second, 0).events.map((e) => [e.key, e.tokens.total])).toEqual([
      ['msg_1', 1112],
      ['msg_2', 2227],
    ]);
  });

  it('the meter: sessions attributed by database + cwd; two agents in one cwd ⇒ unattributed with why; no sqlite3 ⇒ one line', () => {
    const runDir = path.join(dir, 'run');
    fs.mkdirSync(runDir, { recursive: true });
    const share = path.join(dir, 'share');
    const scope = (cwd: string, pid: number) => scopeOf('opencode', { HOME: '/nonexistent', XDG_DATA_HOME: share }, cwd, pid, 1)!;
    expect(scope('/work/a', 1).path).toBe(db);
    recordSource(runDir, 'oc-a', scope('/work/a', 11));
    recordSource(runDir, 'oc-b', scope('/work/b', 12));
    recordSource(runDir, 'oc-c', scope('/work/b', 13));
    session('ses_a', '/work/a');
    session('ses_b', '/work/b');
    message('msg_a', 'ses_a', 2000, { input: 1, output: 2, reasoning: 0, read: 3, write: 4 }, 2000);
    message('msg_b', 'ses_b', 2100, { input: 5, output: 6, reasoning: 1, read: 7, write: 0 }, 2100);
    const agents = ['oc-a', 'oc-b', 'oc-c'].map((name) => ({ name, runtime: 'opencode', panePid: null }));
    const meter = new SpendMeter(runDir, path.join(dir, 'prices.yaml'), { cache: false });
    const files = meter.refresh(agents, { now: 5000, since: 0, tree: null });
    expect(meter.errors).toEqual([]);
    expect(files.map((f) => [f.file, f.agent, f.events.map((e) => e.tokens.total)])).toEqual([
      [path.join(db, 'ses_a'), 'oc-a', [10]],
      [path.join(db, 'ses_b'), null, [19]],
    ]);
    expect(at(files, 1).reason).toContain('could be oc-b or oc-c');

    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'empty-bin');
    try {
      const blind = new SpendMeter(runDir, path.join(dir, 'prices.yaml'), { cache: false });
      expect(blind.refresh(agents, { now: 5000, since: 0, tree: null })).toEqual([]);
      expect(blind.errors).toEqual(['opencode spend n/a: sqlite3 not on PATH (install the sqlite3 package, e.g. apt-get install sqlite3)']);
    } finally {
      process.env.PATH = saved;
    }
  });
});
