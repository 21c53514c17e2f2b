/**
 * Reading and writing runtime configuration files for `hooks install`: bounded reads, atomic
 * writes (temp + rename) that keep a file's mode, and symlinked dotfiles (stow, chezmoi) whose
 * link stays while the target gets the change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HookConfigError } from '../hook-config.js';
import { readBoundedFile } from '../../lib/bounded-read.js';
import { messageOf } from '../../lib/errors.js';
import { writeFileAtomic as writeTempAndRename } from '../../lib/atomic-write.js';

/** Largest config file `hooks install` reads (settings.json, hooks.json, config.toml), bytes. */
const HOOK_CONFIG_READ_LIMIT = 4 * 1024 * 1024;

/** Reads a runtime's config file through the one bounded reader; null when absent. Throws HookConfigError naming the path and cause. */
export function readHookConfig(file: string): string | null {
  try {
    return readBoundedFile(file, { maxBytes: HOOK_CONFIG_READ_LIMIT })?.bytes.toString('utf8') ?? null;
  } catch (error) {
    throw new HookConfigError(`cannot read ${messageOf(error, file)}`);
  }
}

/**
 * Where a write to `file` must land: `file` itself, or — when it is a symlink (dotfiles kept by
 * stow or chezmoi) — the file the link chain points to, so the link stays and its target gets
 * the change. A dangling link resolves to its (missing) target. Throws HookConfigError for a
 * link loop or a target that is not a regular file.
 */
export function writeTargetOf(file: string): string {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw new HookConfigError(`cannot write ${messageOf(error, current)}`);
    }
    if (!st.isSymbolicLink()) {
      if (!st.isFile()) throw new HookConfigError(`cannot write ${file}: ${current} is not a regular file; nothing changed`);
      return current;
    }
    current = path.resolve(path.dirname(current), fs.readlinkSync(current));
  }
  throw new HookConfigError(`cannot write ${file}: too many symlinks (a loop?); nothing changed`);
}

/**
 * Writes `text` to `file` atomically (temp file in the same dir, then rename), keeping an
 * existing file's mode. A symlinked `file` keeps its link: the write goes to the link's target
 * ({@link writeTargetOf}), atomically in the target's directory. Throws the I/O error.
 */
export function writeFileAtomic(linkOrFile: string, text: string): void {
  const file = writeTargetOf(linkOrFile);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let mode = 0o644;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    /* new file */
  }
  writeTempAndRename(file, text, { mode });
}
