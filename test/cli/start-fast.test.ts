/**
 * Start fast: each verb loads only what it uses. The real program runs with an ESM load hook
 * (NODE_OPTIONS=--import) that lists every module file it loads; `--version`, `--once --json`,
 * `events` and the verbs' help must load none of the console's (ink, react) or the store's
 * (PGlite, drizzle, postgres) packages, and `--version` none of our modules at all. A CommonJS
 * preload lists what `require` loads (the ESM hook does not see it): `--once` on a roster
 * without budgets or price overrides loads neither `yaml` nor the price library.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWord } from '../../src/cli.js';
import { runBin } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';

const HOOK = `import { register } from 'node:module';
import fs from 'node:fs';
const out = process.env.MT_MODULES_OUT;
register('data:text/javascript,' + encodeURIComponent("export async function load(u, c, n) { if (u.startsWith('file:')) (await import('node:fs')).appendFileSync(process.env.MT_MODULES_OUT, u + '\\\\n'); return n(u, c); }"));
fs.writeFileSync(out, '');
`;

// Every CommonJS file required (createRequire included; node's built-ins left out), one path a line.
const REQUIRE_HOOK = `const Module = require('node:module');
const fs = require('node:fs');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments);
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    if (file.startsWith('/')) fs.appendFileSync(process.env.MT_REQUIRES_OUT, file + '\\n');
  } catch {}
  return loaded;
};
`;

const HEAVY = /\/node_modules\/(ink|react|react-reconciler|@electric-sql|drizzle-orm|postgres|yoga-layout|zustand)\//;

describe('start fast: each verb loads only what it uses', () => {
  let dir = '';
  let home = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-start-'));
    home = path.join(dir, 'home');
    writeHomeRoster(home, `mt-start-none-${process.pid}`, [{ name: 'a1', runtime: 'sleep' }]);
    fs.writeFileSync(path.join(dir, 'hook.mjs'), HOOK);
    fs.writeFileSync(path.join(dir, 'require-hook.cjs'), REQUIRE_HOOK);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The module files `mosaic-top …args` loaded (ES modules as URLs, then required files as paths). */
  async function modulesOf(args: string[]): Promise<string[]> {
    const out = path.join(dir, 'modules.txt');
    const requires = path.join(dir, 'requires.txt');
    fs.writeFileSync(requires, '');
    const r = await runBin(args, {
      ...process.env,
      MOSAIC_HOME: home,
      XDG_CACHE_HOME: path.join(dir, 'cache'),
      MT_MODULES_OUT: out,
      MT_REQUIRES_OUT: requires,
      NODE_OPTIONS: `--import=${pathToFileURL(path.join(dir, 'hook.mjs')).href} --require=${path.join(dir, 'require-hook.cjs')}`,
    });
    expect(r.stderr).not.toMatch(/cannot start|Error:/);
    return [...fs.readFileSync(out, 'utf8').split('\n'), ...fs.readFileSync(requires, 'utf8').split('\n')].filter(Boolean);
  }

  it('the command word skips the root options and their values', () => {
    expect(commandWord(['--mosaic-home', 'x', '--interval', '2', 'events', '--follow'])).toBe('events');
    expect(commandWord(['--once', '--json'])).toBeNull();
    expect(commandWord(['--mosaic-home=x', 'send', 'a', 'hi'])).toBe('send');
    expect(commandWord(['--', 'backlog'])).toBe('backlog');
  });

  it('--version loads no module of ours; --once, events and the verbs no console and no store', async () => {
    const version = await modulesOf(['--version']);
    expect(version.filter((u) => !u.endsWith('/bin/mosaic-top'))).toEqual([]);
    const loads: Record<string, string[]> = {};
    for (const args of [['--once', '--json'], ['events'], ['send', '--help'], ['answer', '--help'], ['backlog', '--help']]) {
      const mods = await modulesOf(args);
      loads[args.join(' ')] = mods.filter((u) => HEAVY.test(u));
      expect(mods.length, args.join(' ')).toBeGreaterThan(1);
    }
    expect(loads).toEqual({ '--once --json': [], events: [], 'send --help': [], 'answer --help': [], 'backlog --help': [] });
    // Only the verb's own command module is loaded, not the others'.
    const once = await modulesOf(['--once', '--json']);
    expect(once.filter((u) => u.includes('/dist/src/commands/'))).toEqual([]);
  });

  it('--once on a roster without budgets or price overrides loads neither yaml nor the price library', async () => {
    const yamlOrPrices = (mods: string[]) => mods.filter((u) => /\/node_modules\/(yaml|@pydantic\/genai-prices)\//.test(u));
    // Twice: the first run parses the roster (yaml) and caches it; the second reads the cache.
    await modulesOf(['--once', '--json']);
    expect(yamlOrPrices(await modulesOf(['--once', '--json']))).toEqual([]);
    // A roster with a budget is read for it (by yaml, through require: the preload sees it).
    const roster = path.join(home, 'fleet', 'roster.yaml');
    const text = fs.readFileSync(roster, 'utf8');
    try {
      fs.writeFileSync(roster, `${text}budget:\n  daily_usd: 5\n`);
      await modulesOf(['--once', '--json']);
      expect(yamlOrPrices(await modulesOf(['--once', '--json'])).some((u) => u.includes('/node_modules/yaml/'))).toBe(true);
    } finally {
      fs.writeFileSync(roster, text);
    }
  });
});
