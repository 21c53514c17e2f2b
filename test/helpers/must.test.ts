import { describe, expect, it } from 'vitest';
import { at, must } from './must.js';

describe('at and must', () => {
  it('at returns the element inside the range, also a falsy one', () => {
    expect(at(['a', 'b'], 1)).toBe('b');
    expect(at([0, ''], 0)).toBe(0);
    expect(at<string | undefined>([undefined], 0)).toBeUndefined();
  });

  it('at throws naming the index and the length outside the range, a negative index included', () => {
    expect(() => at(['a'], 1, 'row')).toThrow('no row at index 1: 1 items');
    expect(() => at(['a', 'b'], -1, 'header')).toThrow('no header at index -1: 2 items');
    expect(() => at([], 0)).toThrow('no element at index 0: 0 items');
    expect(() => at(['a'], 0.5)).toThrow('no element at index 0.5: 1 items');
  });

  it('must returns a present value, falsy ones included, and throws on undefined and null', () => {
    expect(must(0, 'count')).toBe(0);
    expect(must('', 'text')).toBe('');
    expect(must({ ok: true } as { ok: boolean } | undefined, 'probe')).toEqual({ ok: true });
    expect(() => must(undefined, 'roster probe')).toThrow('missing roster probe');
    expect(() => must(null, 'snapshot')).toThrow('missing snapshot');
  });
});
