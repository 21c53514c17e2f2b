/**
 * The console header's text: the identity line (host, sockets, backlog tier, `[READ-ONLY]`,
 * today's spend), the fleet line (PAUSED banner or `fleet running`, readiness counts, floor
 * health, fleet-level flags and signals) and the probe errors in place. components/Header.tsx
 * only draws these. Pure.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { Snapshot } from '../snapshot/types.js';
import { fleetFlagsText, fleetSignals, floorText, headerIdentity, pausedBanner, readinessCounts, snapshotErrors } from './rows.js';
import { headerSpendText } from './spend-rows.js';

/** The header's lines and how the fleet line is styled. */
export interface HeaderText {
  /** Host, sockets, backlog tier, `[READ-ONLY]`, spend. */
  identity: string;
  /** The PAUSED banner, or null while the fleet runs. */
  banner: string | null;
  /** Banner or `fleet running`, readiness counts, floor, flags and signals. */
  fleet: string;
  /** The floor is unmet or a fleet-level signal is up (the fleet line shows in yellow). */
  warn: boolean;
  /** At most `errorLines` probe errors, the last one saying how many more there are. */
  errors: string[];
}

/**
 * The header's text for `snapshot` (null before the first), the backlog `section`, the last
 * tick's error, `readonly`, at `nowMs` (the banner's "ago"), with room for `errorLines` errors.
 */
export function headerText(
  snapshot: Snapshot | null,
  section: BacklogSection | null,
  opts: { tickError: string | null; readonly: boolean; nowMs: number; errorLines: number },
): HeaderText {
  const spend = headerSpendText(snapshot);
  // [READ-ONLY] before the spend: at 80 columns the line is cut at the right.
  const identity = `${headerIdentity(snapshot, section)}${opts.readonly ? '  [READ-ONLY]' : ''}${spend ? `  ${spend}` : ''}`;
  const banner = pausedBanner(snapshot, opts.nowMs);
  const all = snapshotErrors(snapshot, opts.tickError);
  const errors = all.slice(0, opts.errorLines);
  const more = all.length - opts.errorLines;
  if (more > 0 && opts.errorLines > 0) errors[opts.errorLines - 1] = `${errors[opts.errorLines - 1] ?? ''} (+${more} more: enter on an agent for details)`;
  const fleetFlags = fleetFlagsText(snapshot);
  const signals = [...(fleetFlags ? [fleetFlags] : []), ...fleetSignals(snapshot)];
  const fleet = `${banner ?? 'fleet running'}  ${readinessCounts(snapshot)}  ${floorText(snapshot)}${signals.length ? `  ${signals.join('  ')}` : ''}`;
  return { identity, banner, fleet, warn: snapshot?.fleet.floor.ok === false || signals.length > 0, errors };
}
