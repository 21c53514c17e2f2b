/**
 * Waits `ms` milliseconds (negative counts as 0), or less when `signal` aborts first. Never
 * rejects: a caller that polls with a deadline checks its own clock and the signal after it.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Longest wait in milliseconds, counted from the call. */
  timeoutMs: number;
  /** Pause between checks in milliseconds. */
  intervalMs: number;
  /** Ends the wait early (the result is then false unless the last check passed). */
  signal?: AbortSignal;
}

/**
 * THE deadline loop: calls `check` until it returns true, the deadline passes or `signal`
 * aborts, pausing `intervalMs` between calls (the first check runs at once). Returns true when
 * a check passed. A check that throws rejects the call (the caller decides what a failed check
 * means).
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, opts: PollOptions): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (opts.signal?.aborted || Date.now() >= deadline) return false;
    await delay(Math.min(opts.intervalMs, deadline - Date.now()), opts.signal);
  }
}
