/** Pane capture for the console's read-only preview and for send verification. Owner: actions. */

/**
 * Captures the visible text of a pane (`capture-pane -p`, no escape sequences). Returns the
 * raw (unsanitized) text, or throws with tmux's reason. Stub until the actions issue lands.
 */
export async function capturePane(
  socket: string | null,
  target: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<string> {
  void socket; void target; void opts;
  throw new Error('capture not built yet');
}
