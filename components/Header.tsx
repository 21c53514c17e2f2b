/**
 * Header: host, socket(s), backlog tier, the fleet's spend today and worst pace, counts per readiness; the PAUSED banner
 * with since/by/reason, floor health, fleet-level systemd flags (LINGER); then probe errors in place (the console keeps running).
 */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { headerText } from '../src/view/header-lines.js';
import { Line } from './Line.js';

/** Width (cells) and line budget of the header and its error lines. */
export interface HeaderProps {
  width: number;
  lines: number;
  errorLines: number;
}

/** Renders `lines` header lines and up to `errorLines` error lines. */
export function Header({ width, lines, errorLines }: HeaderProps): React.ReactElement {
  // `s.fleet` changes with every notified update; a quiet one (a table's cells) changes its snapshot in place, drawing the same header.
  const snapshot = useConsole((s) => s.fleet).snapshot;
  const section = useConsole((s) => s.backlog.section);
  const tickError = useConsole((s) => s.fleet.tickError);
  const readonly = useConsole((s) => s.ui.readonly);
  // The banner's "ago" only needs minute precision: re-render once a minute, not every second.
  const minute = useConsole((s) => (s.fleet.snapshot?.fleet.paused ? Math.floor(s.ui.clockMs / 60_000) : 0));
  const { identity, banner, fleet, warn, errors } = headerText(snapshot, section, { tickError, readonly, nowMs: minute * 60_000, errorLines });
  return (
    <Box flexDirection="column">
      <Line text={lines === 1 ? `${identity}  ${banner ?? ''}` : identity} width={width} bold />
      {lines >= 2 && (
        <Box>
          <Line text={fleet} width={width} color={banner ? 'red' : warn ? 'yellow' : undefined} bold={Boolean(banner)} />
        </Box>
      )}
      {errors.map((e, i) => (
        <Line key={i} text={`! ${e}`} width={width} color="yellow" />
      ))}
    </Box>
  );
}
