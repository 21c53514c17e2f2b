/**
 * A reader that closes the program's stdout before the program writes (`mosaic-top --once --json |
 * head -c0`): the program ends quietly with 141 (128 + SIGPIPE), as a program killed by SIGPIPE
 * reports in a shell, not with an unhandled EPIPE and its stack (node ignores SIGPIPE).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';

describe('stdout closed by its reader', () => {
  let home = '';
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-closed-out-'));
    writeHomeRoster(home, `mt-closed-out-none-${process.pid}`, [{ name: 'a1', runtime: 'sleep' }]);
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  /** Runs the program with its stdout's read end closed at once; resolves with its exit code and stderr. */
  function runClosed(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, '--mosaic-home', home, ...args], {
        env: {
          ...process.env,
          PATH: `${path.resolve(import.meta.dirname, '..', 'fixtures', 'bin')}:${process.env.PATH}`,
          MT_SYSTEMCTL_MODE: 'nobus',
          MOSAIC_DEBUG: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Closed before node has even started the program: every write of the child meets EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it.each([
    ['--once --json', ['--once', '--json']],
    ['--once (the table)', ['--once']],
  ])('%s ends with 141 and writes nothing to stderr', async (_label, args) => {
    const r = await runClosed(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(141);
  });
});
