/**
 * Flapping damper for notifications (docs/transitions.md: never once per tick, flapping damped). A
 * notification for `(subject, state)` — e.g. coder1 → dead — is let through, then every other
 * one for the same subject and state is held back for a cool-down (default 300 s). A flapping
 * agent (dead → working → dead → …) thus notifies once per cool-down per state, while the
 * stream and the history still record every transition. Pure apart from the map it keeps;
 * time comes from the caller.
 */
import { transitionSubject, transitionTarget, type Transition } from './diff.js';

/** Default cool-down per subject and state, seconds. */
export const DEFAULT_NOTIFY_COOLDOWN_SECONDS = 300;

/** Decides which attention transitions notify. */
export class NotifyDamper {
  private readonly last = new Map<string, number>();

  /** @param cooldownMs Cool-down per (subject, state), milliseconds (0 = every attention transition notifies). */
  constructor(private readonly cooldownMs: number = DEFAULT_NOTIFY_COOLDOWN_SECONDS * 1000) {}

  /**
   * True when `t` should notify at `nowMs` (unix ms): it is an attention transition and no
   * notification for the same subject and state was let through within the cool-down. Records
   * the notification when it returns true.
   */
  admit(t: Transition, nowMs: number): boolean {
    if (!t.attention) return false;
    const key = `${t.scope}\u0000${transitionSubject(t)}\u0000${transitionTarget(t)}`;
    const prev = this.last.get(key);
    if (prev !== undefined && nowMs - prev < this.cooldownMs) return false;
    this.last.set(key, nowMs);
    // Bounded: entries older than the cool-down decide nothing any more.
    if (this.last.size > 1000) {
      for (const [k, v] of this.last) if (nowMs - v >= this.cooldownMs) this.last.delete(k);
    }
    return true;
  }
}
