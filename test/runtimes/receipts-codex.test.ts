/** The receipts matrix on the real codex (test/runtimes/receipts-cells.ts has the cells and their checks). */
import { describeReceiptsMatrix } from './receipts-cells.js';

describeReceiptsMatrix('codex');
