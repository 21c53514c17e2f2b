/** The receipts matrix's no-rules row: a `sleep` pane read with no runtime's screen rules (test/runtimes/receipts-cells.ts). */
import { describeNoRulesPane } from './receipts-cells.js';

describeNoRulesPane();
