/**
 * How each keymap precondition ({@link Requirement}) is checked against the console state. The
 * dispatcher refuses a binding whose need is unmet (with the notice given here, or silently
 * where nothing would happen anyway), the status bar dims its hint, the help lists it. Pure.
 */
import { describePause } from '../../fleet/paused.js';
import type { AgentRow } from '../snapshot/types.js';
import { backlogRows, selectedAgentRow, selectedClaimedCard, selectedIndex, visibleAgents } from '../store/selectors.js';
import { openPending } from '../store/ui-slice.js';
import type { ConsoleState } from '../store/index.js';
import type { Requirement } from '../view/keymap.js';

/** An unmet requirement: the notice to show (null: refuse silently, nothing would happen anyway). */
export interface Unmet {
  notice: string | null;
}

/**
 * Why an action on `agent` would be refused before anything is asked or typed, or null: no
 * live pane (send, claim, watch; remote agents too — their rows carry the pane seen over ssh),
 * or — for a claim — the fleet is PAUSED (since when, by whom). The action itself checks
 * again; this spares the operator a dialog that can only end in a refusal.
 */
export function refusalBeforeAsking(s: ConsoleState, agent: AgentRow, what: 'send' | 'claim' | 'watch'): string | null {
  if (what === 'claim' && s.fleet.snapshot?.fleet.paused) return `claim refused: ${describePause(s.fleet.snapshot.fleet.paused)}`;
  if (!agent.pane || agent.pane.dead) return `${what} refused: ${agent.name} has no live pane (${agent.readiness})`;
  return null;
}

/**
 * Checks `need` in state `s` for the action named `what` (e.g. `send`, `claim`, `release`, the
 * word its notices start with). Returns null when met, else the {@link Unmet} refusal.
 */
export function unmetRequirement(s: ConsoleState, need: Requirement, what: string): Unmet | null {
  switch (need) {
    case 'agent':
    case 'live-agent':
    case 'claimable-agent': {
      const agent = selectedAgentRow(s);
      if (!agent) return { notice: `${what}: no agent selected` };
      if (need === 'agent') return null;
      const refusal = refusalBeforeAsking(s, agent, need === 'claimable-agent' ? 'claim' : (what as 'send' | 'watch'));
      return refusal ? { notice: refusal } : null;
    }
    case 'waiting-agent': {
      const agent = selectedAgentRow(s);
      if (!agent) return { notice: `${what}: no agent selected` };
      const prompt = agent.screen?.prompt;
      if (agent.readiness !== 'waiting' || !prompt) {
        const why = agent.readiness === 'waiting' ? 'waiting, but no prompt was read off its screen: use mosaic-top answer' : agent.readiness;
        return { notice: `${what}: ${agent.name} is not waiting on a permission prompt (${why}); nothing to answer` };
      }
      if (prompt.kind !== 'permission') return { notice: `${what}: ${agent.name} shows a question, not a permission prompt; attach to answer it` };
      return null;
    }
    case 'claimed-card':
      return selectedClaimedCard(s) ? null : { notice: `${what}: select a claimed card (C) in the backlog panel` };
    case 'selection': {
      if (s.ui.focus === 'fleet') return visibleAgents(s.fleet.snapshot, s.ui.filter).length ? null : { notice: null };
      return selectedIndex(
        backlogRows(s.backlog.section, s.ui.filter).map((r) => r.id),
        s.ui.selectedCard,
      ) >= 0
        ? null
        : { notice: null };
    }
    case 'filter-set':
      return s.ui.filter ? null : { notice: null };
    case 'idle':
      return openPending(s.ui.open) ? { notice: null } : null;
  }
}
