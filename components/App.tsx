/**
 * The console's root: lays the screen out for the terminal size (src/view/layout.ts) and
 * places the panels. Reads the store through selectors; input goes through the ONE
 * dispatcher hook. Never reaches the terminal's height (rows - 1 lines at most).
 */
import React from 'react';
import { Box } from 'ink';
import { useConsole, useConsoleShallow } from '../hooks/useConsoleStore.js';
import { useKeymapDispatcher } from '../hooks/useKeymapDispatcher.js';
import { useTerminalSize, type TerminalSize } from '../hooks/useTerminalSize.js';
import { consoleLayout } from '../src/view/layout.js';
import { BacklogPanel } from './BacklogPanel.js';
import { DetailsView } from './DetailsView.js';
import { Dialog } from './Dialog.js';
import { EventsView } from './EventsView.js';
import { TransitionsView } from './TransitionsView.js';
import { SpendView } from './SpendView.js';
import { FleetTable } from './FleetTable.js';

export { redrawFleetCells } from './FleetTable.js';
import { Header } from './Header.js';
import { HelpView } from './HelpView.js';
import { Preview } from './Preview.js';
import { NoticeLine, StatusBar } from './StatusBar.js';

/** Props of {@link App}. */
export interface AppProps {
  /** Fixed size (tests); default: the terminal's, following resizes. */
  size?: TerminalSize;
  /** False while the terminal is handed over (watch): no input is read. */
  inputActive?: boolean;
}

/** The whole console screen. */
export function App({ size: fixedSize, inputActive = true }: AppProps): React.ReactElement {
  const terminal = useTerminalSize();
  const size = fixedSize ?? terminal;
  // The layout is computed from the state (never written back): the keys compute it too.
  const layout = useConsoleShallow((s) => consoleLayout(s, size));
  const modal = useConsole((s) => s.ui.open.kind);
  useKeymapDispatcher(inputActive, size);
  const w = layout.width;
  return (
    <Box flexDirection="column" width={w} height={layout.height}>
      <Header width={w} lines={layout.headerLines} errorLines={layout.errorLines} />
      {layout.fullViewLines > 0 && modal === 'help' && <HelpView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'details' && <DetailsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'events' && <EventsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'transitions' && <TransitionsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'spend' && <SpendView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines === 0 && layout.backlogBeside && (
        <Box flexDirection="row" height={layout.tableLines}>
          <FleetTable width={layout.tableWidth} height={layout.tableLines} />
          <Box width={1} />
          <BacklogPanel width={layout.backlogWidth} height={layout.backlogLines} />
        </Box>
      )}
      {layout.fullViewLines === 0 && !layout.backlogBeside && (
        <>
          <Box height={layout.tableLines} flexDirection="column">
            <FleetTable width={w} height={layout.tableLines} />
          </Box>
          <BacklogPanel width={w} height={layout.backlogLines} />
        </>
      )}
      {layout.previewLines > 0 && <Preview width={w} height={layout.previewLines} />}
      <Box flexGrow={1} />
      <Dialog width={w} height={layout.dialogLines} />
      {layout.noticeLines > 0 && <NoticeLine width={w} />}
      {layout.statusLines > 0 && <StatusBar width={w} />}
    </Box>
  );
}
