import { describe, expect, it } from 'vitest';
import { deliveryFor, GENERIC_DELIVERY, SHIPPED_DELIVERY } from '../../fleet/delivery.js';
import { hasScreenRules } from '../../fleet/screen.js';

describe('delivery per runtime (data)', () => {
  it('finds the runtime by roster name, alias or path; anything else is generic (one line, busy beat only)', () => {
    expect(deliveryFor('claude').runtime).toBe('claude');
    expect(deliveryFor('claude-code').runtime).toBe('claude');
    expect(deliveryFor('/opt/bin/Codex').whileBusy).toBe('steers');
    expect(deliveryFor('sh')).toBe(GENERIC_DELIVERY);
    expect(deliveryFor(null)).toBe(GENERIC_DELIVERY);
    expect(GENERIC_DELIVERY).toMatchObject({ bracketedPaste: false, uptake: ['hook-busy'] });
  });
  it('every shipped delivery has screen rules beside it, and never counts the text appearing on screen as uptake', () => {
    for (const rule of SHIPPED_DELIVERY) {
      expect(hasScreenRules(rule.runtime), rule.runtime).toBe(true);
      expect(rule.uptake.every((u) => ['busy-marker', 'hook-busy', 'box-emptied'].includes(u))).toBe(true);
      expect(rule.bracketedPaste).toBe(true);
    }
  });
});
