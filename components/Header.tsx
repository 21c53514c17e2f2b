/**
 * Header: host, socket(s), backlog tier, the fleet's spend today and worst pace, counts per readiness; the PAUSED banner
 * with since/by/reason, floor health, fleet-level systemd flags (LINGER); then probe errors in place (the console keeps running).
 */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { fleetFlagsText, fleetSignals, floorText, headerIdentity, pausedBanner, readinessCounts, snapshotErrors } from '../src/view/rows.js';
import { headerSpendText } from '../src/view/spend-rows.js';
import { Line } from './Line.js';

/** Width (cells) and line budget of the header and its error lines. */
export interface HeaderProps {
  width: number;
  lines: number;
  errorLines: number;
}

/** Renders `lines` header lines and up to `errorLines` error lines. */
export function Header({ width, lines, errorLines }: HeaderProps): React.ReactElement {
  const snapshot = useConsole((s) => s.fleet.snapshot);
  const section = useConsole((s) => s.backlog.section);
  const tickError = useConsole((s) => s.fleet.tickError);
  const readonly = useConsole((s) => s.ui.readonly);
  // The banner's "ago" only needs minute precision: re-render once a minute, not every second.
  const minute = useConsole((s) => (s.fleet.snapshot?.fleet.paused ? Math.floor(s.ui.clockMs / 60_000) : 0));
  const spend = headerSpendText(snapshot);
  // [READ-ONLY] before the spend: at 80 columns the line is cut at the right.
  const identity = `${headerIdentity(snapshot, section)}${readonly ? '  [READ-ONLY]' : ''}${spend ? `  ${spend}` : ''}`;
  const banner = pausedBanner(snapshot, minute * 60_000);
  const floor = floorText(snapshot);
  const errors = snapshotErrors(snapshot, tickError);
  const shown = errors.slice(0, errorLines);
  if (errors.length > errorLines && errorLines > 0)
    shown[errorLines - 1] = `${shown[errorLines - 1]} (+${errors.length - errorLines} more: enter on an agent for details)`;
  const fleetFlags = fleetFlagsText(snapshot);
  const signals = [...(fleetFlags ? [fleetFlags] : []), ...fleetSignals(snapshot)];
  const second = `${banner ?? 'fleet running'}  ${readinessCounts(snapshot)}  ${floor}${signals.length ? `  ${signals.join('  ')}` : ''}`;
  return (
    <Box flexDirection="column">
      <Line text={lines === 1 ? `${identity}  ${banner ?? ''}` : identity} width={width} bold />
      {lines >= 2 && (
        <Box>
          <Line
            text={second}
            width={width}
            color={banner ? 'red' : snapshot?.fleet.floor.ok === false || signals.length ? 'yellow' : undefined}
            bold={Boolean(banner)}
          />
        </Box>
      )}
      {shown.map((e, i) => (
        <Line key={i} text={`! ${e}`} width={width} color="yellow" />
      ))}
    </Box>
  );
}
