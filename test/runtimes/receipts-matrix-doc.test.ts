/**
 * docs/actions.md carries the receipts matrix exactly as test/runtimes/receipts-matrix.ts
 * defines it (the data the real-runtime matrix test asserts): rendered between the
 * `receipts-matrix:begin/end` markers. `MOSAIC_WRITE_DOCS=1` rewrites the block.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMatrixMarkdown } from './receipts-matrix.js';

const doc = path.resolve(import.meta.dirname, '..', '..', 'docs', 'actions.md');

describe('docs/actions.md receipts matrix', () => {
  it('is the rendering of the matrix the real-runtime test asserts', () => {
    const text = fs.readFileSync(doc, 'utf8');
    const m = /<!-- receipts-matrix:begin -->\n([\s\S]*?)<!-- receipts-matrix:end -->/.exec(text);
    expect(m, 'markers in docs/actions.md').toBeTruthy();
    const rendered = `${renderMatrixMarkdown()}\n`;
    if (process.env.MOSAIC_WRITE_DOCS === '1' && m![1] !== rendered) {
      fs.writeFileSync(doc, text.replace(m![0], `<!-- receipts-matrix:begin -->\n${rendered}<!-- receipts-matrix:end -->`));
      return;
    }
    expect(m![1]).toBe(rendered);
  });
});
