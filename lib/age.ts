/**
 * Ages as operators read them, shared by readiness evidence (fleet/), the `--once` table and
 * the console. Dependency-free on purpose: the snapshot path must not load the console's
 * width helpers (string-width) on `--once`.
 */

/**
 * Formats a duration in seconds as a short age: `42s`, `3m12s`, `2h05m`, `3d04h`; `-` for null
 * or non-finite. Negative values (clock skew) are shown as `0s`.
 */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}
