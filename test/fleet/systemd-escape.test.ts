/**
 * Unit names as systemd spells them: fleet/systemd.ts `systemdEscape` (ASCII escaped character
 * by character, other text through its UTF-8 bytes) against the real `systemd-escape`, for every
 * ASCII character at the start and inside a name and for non-ASCII names; `agentUnitName` keeps
 * the names it built and gives the same answer as a fresh escape.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { agentOfUnit, agentUnitName, systemdEscape, systemdUnescape } from '../../fleet/systemd.js';

/** What `systemd-escape` prints for each of `names` (one run: the answers separated by spaces, which it always escapes). */
function systemdEscapeOf(names: string[]): string[] {
  return execFileSync('systemd-escape', ['--', ...names], { encoding: 'utf8' })
    .trimEnd()
    .split(' ');
}

describe('systemdEscape', () => {
  it('escapes every printable ASCII character, leading and inside a name, as systemd-escape does', () => {
    const names: string[] = [];
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      names.push(`a${ch}b`, `${ch}a`);
    }
    const want = systemdEscapeOf(names);
    expect(names.map(systemdEscape)).toEqual(want);
    // Not a no-op: the characters systemd keeps and the ones it escapes both occur.
    expect(systemdEscape('a@b')).toBe('a\\x40b');
    expect(systemdEscape('.a')).toBe('\\x2ea');
    expect(systemdEscape('a/b')).toBe('a-b');
  });

  it('escapes control characters and non-ASCII names by their UTF-8 bytes, as systemd-escape does', () => {
    const names = ['a\tb', 'a\x01b', 'ağent', 'агент-1', '代理.x', 'émoji🙂', '.ñ', 'x/ü'];
    expect(names.map(systemdEscape)).toEqual(systemdEscapeOf(names));
    for (const n of names) expect(systemdUnescape(systemdEscape(n))).toBe(n);
  });
});

describe('agentUnitName', () => {
  it('is systemd-escape --template, the same for a name asked again, and reversed by agentOfUnit', () => {
    const names = ['x@y+z-1', 'coder1', 'a_b', 'A-1+2@h', 'ağent'];
    const want = names.map((n) => execFileSync('systemd-escape', ['--template=mosaic-agent@.service', n], { encoding: 'utf8' }).trim());
    expect(names.map(agentUnitName)).toEqual(want);
    expect(names.map(agentUnitName)).toEqual(want);
    expect(names.map((n) => agentOfUnit(agentUnitName(n)))).toEqual(names);
  });

  it('answers right past the bound of names kept (the kept names are dropped, not the answers)', () => {
    const many = Array.from({ length: 70_000 }, (_, i) => `agent-${i}`);
    for (const n of many) agentUnitName(n);
    expect(agentUnitName('agent-3')).toBe('mosaic-agent@agent\\x2d3.service');
    expect(agentUnitName('agent-69999')).toBe('mosaic-agent@agent\\x2d69999.service');
  });
});
