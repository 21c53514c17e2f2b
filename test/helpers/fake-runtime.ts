/**
 * Test helper: a program whose process counts as a runtime (`claude`, `codex`): a bash script
 * written as `<dir>/<unique>/<program>` with a shebang (`#!/bin/bash` by default), so `/proc`
 * shows it as `bash <dir>/…/<program>` (comm `<program>`) — what the DRIFT check (fleet/proc.ts
 * `programsUnder`) reads as that program. Returns the script's path, to run as a pane's command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes `script` (bash, or another `interpreter`'s language) as an executable named `program` under `dir`; returns its path. */
export function fakeRuntime(dir: string, program: string, script: string, interpreter = '/bin/bash'): string {
  const where = path.join(dir, `rt-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(where, { recursive: true });
  const file = path.join(where, program);
  fs.writeFileSync(file, `#!${interpreter}\n${script}\n`, { mode: 0o755 });
  return file;
}
