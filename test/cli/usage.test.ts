/**
 * Usage errors and help of the real program (`node bin/mosaic-top …`; run `npx tsc -p .`
 * first): every command exits 2 on a usage error, --help/--version exit 0, and each command's
 * help lists the options it really accepts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBin, type BinResult } from '../helpers/bin.js';

// A throwaway home: a usage error must not touch it, but nothing may reach the user's own.
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-usage-'));
afterAll(() => fs.rmSync(HOME, { recursive: true, force: true }));

function mosaicTop(args: string[]): Promise<BinResult> {
  return runBin(args, { ...process.env, MOSAIC_HOME: HOME, XDG_CACHE_HOME: HOME }, 30_000);
}

describe('usage errors exit 2 with a clear message (real program)', () => {
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

describe('--help and --version exit 0; help lists every accepted option (real program)', () => {
  it('--version and --help exit 0', async () => {
    const version = await mosaicTop(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    for (const args of [['--help'], ['send', '--help'], ['backlog', '--help'], ['backlog', 'list', '--help'], ['demo', 'down', '--help']]) {
      const r = await mosaicTop(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: mosaic-top/);
    }
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
