/**
 * A heartbeat file's raw `key=value` lines, for the real-runtime hook tests that watch which
 * fields a hook wrote (the program's own parser, fleet/heartbeat.ts, is what they test against).
 */
import fs from 'node:fs';

/** The `key=value` lines of heartbeat `file` as a record (the first `=` splits); {} when it cannot be read. */
export function readBeatFields(file: string): Record<string, string> {
  try {
    return Object.fromEntries(
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  } catch {
    return {};
  }
}
