/** Read-only watch of an agent's pane (spec §9). Owner: actions. */

export interface WatchResult {
  ok: boolean;
  /** Why the watch could not start or ended badly (missing session, no tty, …). */
  error: string | null;
}

/**
 * Hands the real terminal to a read-only tmux view of `agent` (grouped viewer session
 * `<agent>-watch-<pid>` + `attach -r`), returns after the operator detaches, and always kills
 * the viewer (also on SIGINT/SIGTERM/SIGHUP). `onBeforeAttach` receives the "how to come back"
 * message. Stub until the actions issue lands.
 */
export async function watchAgent(opts: {
  agent: string;
  socket: string | null;
  onBeforeAttach?: (message: string) => void;
}): Promise<WatchResult> {
  void opts;
  return { ok: false, error: 'watch not built yet' };
}
