import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { loadPriceBook, parsePriceOverrides, PriceBook } from '../../fleet/spend/prices.js';
import { makeTokens, type UsageEvent } from '../../fleet/spend/types.js';

function ev(model: string, input: number, output: number, cacheRead: number, cacheWrite: number): UsageEvent {
  return { at: Date.parse('2026-12-06T08:00:00Z'), model, tokens: makeTokens(input, output, cacheRead, cacheWrite), key: null, cacheWrite1h: 0 };
}

describe('prices', () => {
  it('per-request cost equals the library own calculation (flat and tiered models)', () => {
    const book = new PriceBook();
    const cases: [string, 'claude' | 'codex', string, number, number, number, number][] = [
      ['claude-opus-4-8', 'claude', 'anthropic', 1234, 567, 89_000, 4_321],
      ['claude-sonnet-4-5', 'claude', 'anthropic', 150_000, 2_000, 60_000, 1_000],
      ['claude-sonnet-4-5', 'claude', 'anthropic', 10, 2_000, 600, 100],
      ['gpt-5.1-codex', 'codex', 'openai', 900, 300, 7_000, 0],
    ];
    for (const [model, runtime, providerId, input, output, cacheRead, cacheWrite] of cases) {
      const lib = calcPrice(
        { input_tokens: input + cacheRead + cacheWrite, cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite, output_tokens: output },
        model,
        { providerId },
      );
      expect(lib, model).not.toBeNull();
      expect(book.cost(ev(model, input, output, cacheRead, cacheWrite), runtime)).toBeCloseTo(lib!.total_price, 9);
    }
  });

  it('an unknown model has no price (null), never a guess', () => {
    expect(new PriceBook().cost(ev('fake-model-xyz', 1, 1, 1, 1), 'pi')).toBeNull();
  });

  it('prices.yaml overrides a model, prices one the library does not know; cache prices default to input', () => {
    const { overrides, error } = parsePriceOverrides(
      'models:\n  claude-opus-4-8: { input: 1, output: 2, cache_read: 0.5, cache_write: 3 }\n  fake-model-xyz:\n    input: 10\n    output: 20\n',
      'prices.yaml',
    );
    expect(error).toBeNull();
    const book = new PriceBook(overrides);
    expect(book.cost(ev('claude-opus-4-8', 1e6, 1e6, 1e6, 1e6), 'claude')).toBeCloseTo(6.5, 9);
    expect(book.cost(ev('fake-model-xyz', 1e6, 1e6, 1e6, 1e6), 'pi')).toBeCloseTo(50, 9);
    expect(book.rates('fake-model-xyz', 'pi')?.source).toBe('prices.yaml');
  });

  it('a bad prices.yaml: one line with file:line, library prices stay', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prices-'));
    try {
      const file = path.join(dir, 'prices.yaml');
      fs.writeFileSync(file, 'models:\n  claude-opus-4-8:\n    input: 5\n    output: lots\n');
      const book = loadPriceBook(file);
      expect(book.error).toBe(`${file}:4: claude-opus-4-8.output: expected a non-negative number (USD per million tokens)`);
      expect(book.rates('claude-opus-4-8', 'claude')?.source).toBe('genai-prices:anthropic/claude-opus-4-8');
      fs.writeFileSync(file, 'models: [\n');
      expect(loadPriceBook(file).error).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+: `));
      fs.writeFileSync(file, 'models:\n  m:\n    input: 1\n    outptu: 2\n');
      expect(loadPriceBook(file).error).toBe(`${file}:4: m: unknown price "outptu" (input, output, cache_read, cache_write)`);
      expect(loadPriceBook(path.join(dir, 'absent.yaml')).error).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
