/**
 * Usage errors and help: every command exits 2 on a usage error, --help/--version exit 0, and
 * each command's help lists the options it really accepts. The cases run the program in this
 * process (src/cli.ts `runCli`, test/helpers/cli.ts: a node start per case was the cost); the
 * real program (`node bin/mosaic-top …`; run `npx tsc -p .` first) proves the same exit codes
 * at the process boundary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';

// A throwaway home: a usage error must not touch it, but nothing may reach the user's own.
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-usage-'));
afterAll(() => fs.rmSync(HOME, { recursive: true, force: true }));

const ENV = { ...process.env, MOSAIC_HOME: HOME, XDG_CACHE_HOME: HOME };

/** The program in this process. */
function mosaicTop(args: string[]): Promise<BinResult> {
  return runCliInProcess(args, ENV);
}

/** The real program, its own process. */
function mosaicTopBin(args: string[]): Promise<BinResult> {
  return runBin(args, ENV, 30_000);
}

describe('usage errors exit 2 with a clear message', () => {
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /^error: unknown command 'bogus'/m],
    [['bogus', '--json'], /^error: unknown command 'bogus'/m],
    [['--bogus'], /^error: unknown option '--bogus'/m],
    [['send', 'enhancer', 'x', '--timeout', 'abc'], /option '--timeout <seconds>' argument 'abc' is invalid\. expected a positive number of seconds/],
    [['send', 'enhancer'], /missing required argument 'message'/],
    [['dispatch', 'enhancer', '--ttl', 'abc'], /option '--ttl <seconds>' argument 'abc' is invalid/],
    [['dispatch', 'enhancer', '--ttl', '1.5'], /expected a whole number of seconds, got "1\.5"/],
    [['pause', '--bogus'], /^error: unknown option '--bogus'/m],
    [['resume', 'now'], /too many arguments for 'resume'/],
    [['heartbeat', 'coder1'], /required option '--state <state>' not specified/],
    [['watch'], /missing required argument 'agent'/],
    [['demo', 'up', '--bogus'], /^error: unknown option '--bogus'/m],
    [['backlog', 'claim'], /required option '--owner <name>' not specified/],
  ];
  for (const [args, message] of cases) {
    it(`mosaic-top ${args.join(' ')}`, async () => {
      const r = await mosaicTop(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/too many arguments\. Expected 0/);
    });
  }

  it('an unknown command is shown sanitized (no escape sequence reaches the terminal)', async () => {
    const r = await mosaicTop(['bo\u001b[31mgus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'bo^[[31mgus'");
    expect(r.stderr).not.toContain('\u001b');
  });

  it('a usage error writes nothing to the home', async () => {
    await mosaicTop(['pause', '--bogus']);
    expect(fs.existsSync(path.join(HOME, 'fleet', 'run', 'PAUSED'))).toBe(false);
  });
});

describe('--help and --version exit 0; help lists every accepted option', () => {
  it('--version and --help exit 0', async () => {
    for (const run of [mosaicTop, mosaicTopBin]) {
      const version = await run(['--version']);
      expect(version.code).toBe(0);
      expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    }
    for (const args of [['--help'], ['send', '--help'], ['backlog', '--help'], ['backlog', 'list', '--help'], ['demo', 'down', '--help']]) {
      const r = await mosaicTop(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: mosaic-top/);
    }
  });

  it('the real program: --help exits 0 with the help on stdout; a usage error exits 2 with the error on stderr', async () => {
    const help = await mosaicTopBin(['backlog', 'list', '--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toMatch(/^Usage: mosaic-top backlog list/);
    // The same usage line as in this process (the rest wraps to the terminal's width).
    expect(help.stdout.split('\n')[0]).toEqual((await mosaicTop(['backlog', 'list', '--help'])).stdout.split('\n')[0]);
    const usage = await mosaicTopBin(['bo\u001b[31mgus']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toContain("unknown command 'bo^[[31mgus'");
    expect(usage.stderr.split('\n')[0]).toEqual((await mosaicTop(['bo\u001b[31mgus'])).stderr.split('\n')[0]);
  });

  const helps: Array<[string[], RegExp[]]> = [
    [['send'], [/^\s+--json\s/m]],
    [['dispatch'], [/^\s+--json\s/m]],
    [['pause'], [/^\s+--json\s/m, /^\s+--force\s/m]],
    [['resume'], [/^\s+--json\s/m]],
    [['heartbeat'], [/^\s+--json\s/m]],
    [['demo', 'up'], [/^\s+--json\s/m]],
    [
      ['demo', 'down'],
      [/^\s+--mosaic-home <dir>\s/m, /^\s+--json\s/m],
    ],
  ];
  for (const [command, options] of helps) {
    it(`${command.join(' ')} --help lists ${options.map(String).join(', ')}`, async () => {
      const r = await mosaicTop([...command, '--help']);
      expect(r.code).toBe(0);
      for (const option of options) expect(r.stdout).toMatch(option);
    });
  }
});
