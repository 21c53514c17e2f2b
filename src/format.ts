/** Pure formatters for the console and the `--once` table (no I/O). Owner: console. */

/**
 * Formats a duration in seconds as a short age: `42s`, `3m12s`, `2h05m`, `3d04h`; `-` for null
 * or non-finite. Negative values (clock skew) are shown as `0s`.
 */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Formats a TTL countdown: `14m59s` left, or `expired 3m02s` once negative. */
export function formatTtl(secondsLeft: number): string {
  return secondsLeft >= 0 ? formatAge(secondsLeft) : `expired ${formatAge(-secondsLeft)}`;
}
