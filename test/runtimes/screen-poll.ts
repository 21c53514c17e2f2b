/**
 * Test bed: polling a runtime pane's visible screen for a state — cheaply: each capture is a
 * tmux client process, so the poll backs off while the screen stands still.
 */

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Shortest and longest pause between two captures of a screen poll (ms). */
export const POLL_MIN_MS = 100;
export const POLL_MAX_MS = 300;

/**
 * Pause before the next capture of a screen poll: {@link POLL_MIN_MS} after a capture that
 * differed from the one before (the runtime is drawing), else 1.5 × the last pause, at most
 * {@link POLL_MAX_MS}. Each capture costs ~16 ms of CPU (a tmux client, its spawn, the tmux
 * server's answer): a static screen polled every 100 ms costs ~15 % of a core.
 */
export function nextPollMs(lastMs: number, changed: boolean): number {
  return changed ? POLL_MIN_MS : Math.min(POLL_MAX_MS, Math.round(lastMs * 1.5));
}

/**
 * Polls the pane's visible screen (capture-pane; every 100 ms while it changes, backing off to
 * every 300 ms while it stays the same: {@link nextPollMs}) until `re` matches, bounded by
 * `boundMs` (default 30 000); returns that screen. On timeout throws with the last screen in the
 * message, so a failing test shows what the runtime really showed.
 */
export async function waitForScreen(pane: { capture(): Promise<string> }, re: RegExp, boundMs = 30_000): Promise<string> {
  const deadline = Date.now() + boundMs;
  let last = '';
  let pause = POLL_MIN_MS;
  for (let first = true; ; first = false) {
    let screen: string;
    try {
      screen = await pane.capture();
      if (re.test(screen)) return screen;
    } catch (error) {
      screen = `(capture failed: ${(error as Error).message})`;
    }
    pause = first ? POLL_MIN_MS : nextPollMs(pause, screen !== last);
    last = screen;
    if (Date.now() > deadline) throw new Error(`screen did not show ${re} within ${boundMs} ms; last screen:\n${last.replace(/\s+$/gm, '')}`);
    await sleep(pause);
  }
}
