/**
 * The console's root: lays the screen out for the terminal size (src/view/layout.ts) and
 * places the panels. Reads the store through selectors; input goes through the ONE
 * dispatcher hook. Never reaches the terminal's height (rows - 1 lines at most).
 */
import React, { useEffect } from 'react';
import { Box } from 'ink';
import { useConsole, useConsoleShallow, useConsoleStoreApi } from '../hooks/useConsoleStore.js';
import { useKeymapDispatcher } from '../hooks/useKeymapDispatcher.js';
import { useTerminalSize, type TerminalSize } from '../hooks/useTerminalSize.js';
import { computeLayout } from '../src/view/layout.js';
import { snapshotErrors } from '../src/view/rows.js';
import { BacklogPanel, backlogWantedLines } from './BacklogPanel.js';
import { DetailsView } from './DetailsView.js';
import { Dialog, dialogWantedLines } from './Dialog.js';
import { EventsView } from './EventsView.js';
import { TransitionsView } from './TransitionsView.js';
import { FleetTable } from './FleetTable.js';
import { Header } from './Header.js';
import { HelpView } from './HelpView.js';
import { Preview } from './Preview.js';
import { NoticeLine, StatusBar } from './StatusBar.js';
import { visibleAgents } from '../src/store/selectors.js';

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
  useKeymapDispatcher(inputActive);
  const store = useConsoleStoreApi();
  const modal = useConsole((s) => s.ui.modal);
  const previewOn = useConsole((s) => s.ui.previewOn);
  const errorCount = useConsole((s) => snapshotErrors(s.fleet.snapshot, s.fleet.tickError).length);
  const backlogSize = useConsoleShallow((s) => [s.backlog.section?.claimed.length ?? 0, s.backlog.section?.ready.length ?? 0]);
  const dialogWanted = useConsole((s) => dialogWantedLines(s.ui, s.ui.modal));
  // Header + one line per visible agent (or the "no agents" line) + the unmanaged line + the
  // LAST 1H legend (docs/transitions.md).
  const tableWanted = useConsole((s) => 1 + Math.max(1, visibleAgents(s.fleet.snapshot, s.ui.filter).length) + (s.fleet.snapshot?.unmanaged.length ? 1 : 0) + 1);
  const layout = computeLayout({
    columns: size.columns,
    rows: size.rows,
    errorCount,
    backlogWanted: backlogWantedLines(backlogSize[0], backlogSize[1]),
    tableWanted,
    previewOn,
    modal,
    dialogWanted,
  });
  useEffect(() => {
    store.getState().setPageSize(Math.max(1, layout.tableLines - 2));
    // Help/details/events show title + body + a "more" line when they scroll.
    if (layout.fullViewLines > 0) store.getState().setModalView(Math.max(1, layout.fullViewLines - 2));
  }, [store, layout.tableLines, layout.fullViewLines]);
  const w = layout.width;
  return (
    <Box flexDirection="column" width={w} height={layout.height}>
      <Header width={w} lines={layout.headerLines} errorLines={layout.errorLines} />
      {layout.fullViewLines > 0 && modal === 'help' && <HelpView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'details' && <DetailsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'events' && <EventsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines > 0 && modal === 'transitions' && <TransitionsView width={w} height={layout.fullViewLines} />}
      {layout.fullViewLines === 0 && layout.backlogBeside && (
        <Box flexDirection="row" height={layout.tableLines}>
          <FleetTable width={layout.tableWidth} height={layout.tableLines} />
          <Box width={1} />
          <BacklogPanel width={layout.backlogWidth} height={layout.backlogLines} />
        </Box>
      )}
      {layout.fullViewLines === 0 && !layout.backlogBeside && (
        <>
          <Box height={layout.tableLines} flexDirection="column"><FleetTable width={w} height={layout.tableLines} /></Box>
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
