/**
 * The pure parts of `mosaic-top serve`: the listen policy, the token file rules, the failed-token
 * limiter, the same-origin rule (src/serve/access.ts), the page's escaping (src/serve/page.ts)
 * and the metrics' names, labels and spend families (src/serve/metrics.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkListenPolicy,
  crossSiteRefusal,
  FailedTokenLimiter,
  hostAllowed,
  isLoopbackHost,
  loadServeToken,
  parseListen,
  tokenMatches,
} from '../../src/serve/access.js';
import { createMetricsRenderer } from '../../src/serve/metrics.js';
import { renderLive, renderPage } from '../../src/serve/page.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

describe('access', () => {
  it('listen addresses: loopback or not, bad values refused with the value named', () => {
    expect(parseListen('127.0.0.1:8470')).toEqual({ host: '127.0.0.1', port: 8470, loopback: true });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0, loopback: true });
    expect(parseListen('localhost:1')).toMatchObject({ loopback: true });
    expect(parseListen('0.0.0.0:8470')).toMatchObject({ loopback: false });
    expect(parseListen('192.168.1.5:80')).toMatchObject({ loopback: false });
    expect(() => parseListen('8470')).toThrow(/--listen "8470" is not HOST:PORT/);
    expect(() => parseListen('h:70000')).toThrow(/not HOST:PORT/);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('listen policy: a routable bind needs an explicit token file, forbids --metrics-open, and warns about TLS in one line', () => {
    expect(checkListenPolicy(parseListen('127.0.0.1:1'), { explicitTokenFile: false, metricsOpen: true })).toBeNull();
    expect(() => checkListenPolicy(parseListen('0.0.0.0:1'), { explicitTokenFile: false, metricsOpen: false })).toThrow(/without an explicit --token-file/);
    expect(() => checkListenPolicy(parseListen('0.0.0.0:1'), { explicitTokenFile: true, metricsOpen: true })).toThrow(/--metrics-open is for a loopback/);
    const warning = checkListenPolicy(parseListen('0.0.0.0:1'), { explicitTokenFile: true, metricsOpen: false });
    expect(warning).toMatch(/put TLS in front \(a reverse proxy, tailscale serve\)/);
    expect(warning).not.toContain('\n');
  });

  it('token file: created 0600 on first use and reused; an explicit one refused when group/other-readable or short', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-token-'));
    try {
      const fleetDir = path.join(dir, 'fleet');
      const first = loadServeToken({ explicitFile: null, fleetDir });
      expect(first.created).toBe(true);
      expect(first.token).toMatch(/^[0-9a-f]{64}$/);
      expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
      expect(loadServeToken({ explicitFile: null, fleetDir })).toMatchObject({ token: first.token, created: false });
      const loose = path.join(dir, 'loose');
      fs.writeFileSync(loose, 'f'.repeat(40));
      fs.chmodSync(loose, 0o640);
      expect(() => loadServeToken({ explicitFile: loose, fleetDir })).toThrow(/readable by group or others \(mode 640\)/);
      fs.chmodSync(loose, 0o600);
      expect(loadServeToken({ explicitFile: loose, fleetDir }).token).toBe('f'.repeat(40));
      expect(() => loadServeToken({ explicitFile: path.join(dir, 'missing'), fleetDir })).toThrow(/cannot read the token file .*missing/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tokens compare whole; the limiter blocks the 11th failure in a minute per address, then forgets', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abcd', 'abc')).toBe(false);
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    let now = 0;
    const limiter = new FailedTokenLimiter(10, 60_000, () => now);
    for (let i = 0; i < 10; i++) {
      expect(limiter.blocked('a')).toBe(false);
      limiter.fail('a');
    }
    expect(limiter.blocked('a')).toBe(true);
    expect(limiter.blocked('b')).toBe(false);
    now = 60_001;
    expect(limiter.blocked('a')).toBe(false);
  });

  it('same origin: Sec-Fetch-Site same-origin only, Origin naming this Host, none at all for scripts; Host loopback on a loopback listen', () => {
    expect(crossSiteRefusal({ host: '127.0.0.1:8470' })).toBeNull();
    expect(crossSiteRefusal({ origin: 'http://127.0.0.1:8470', secFetchSite: 'same-origin', host: '127.0.0.1:8470' })).toBeNull();
    expect(crossSiteRefusal({ origin: 'https://127.0.0.1:8470', host: '127.0.0.1:8470' })).toBeNull();
    expect(crossSiteRefusal({ origin: 'http://evil.example', host: '127.0.0.1:8470' })).toMatch(/not this server/);
    expect(crossSiteRefusal({ secFetchSite: 'same-site', host: 'x' })).toMatch(/same-site/);
    expect(crossSiteRefusal({ origin: 'null', host: 'x' })).toMatch(/not this server/);
    const lo = parseListen('127.0.0.1:8470');
    expect(hostAllowed('localhost:8470', lo)).toBe(true);
    expect(hostAllowed('[::1]:8470', lo)).toBe(true);
    expect(hostAllowed('evil.example:8470', lo)).toBe(false);
    expect(hostAllowed(undefined, lo)).toBe(false);
    expect(hostAllowed('fleet.example', parseListen('0.0.0.0:1'))).toBe(true);
  });
});

describe('page', () => {
  it('untrusted text is escaped and its control characters made visible; buttons carry the prompt id', () => {
    const hostile = '<script>alert(1)</script>\x1b[31m"\'&\x07';
    const waiting = makeAgent('cc1', {
      readiness: 'waiting',
      evidence: [hostile],
      screen: {
        state: 'waiting',
        rules: 'claude',
        ageSeconds: 0,
        sinceSeconds: 0,
        prompt: {
          kind: 'permission',
          tool: 'Bash',
          detail: `rm -rf / ${hostile}`,
          block: `Bash command\n${hostile}\nDo you want to proceed?`,
          id: '0123456789abcdef',
        },
      },
    });
    const html = renderPage(makeSnapshot([waiting, makeAgent('w1', { class: hostile })]), { readOnly: false, transitions: [], nonce: 'n0nce' });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toMatch(/[\x00-\x08\x0b-\x1f]/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;^[[31m&quot;&#39;&amp;^G');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="n0nce">');
    expect(html).toContain('data-action="answer" data-agent="cc1" data-answer="allow" data-prompt-id="0123456789abcdef">Allow once</button>');
    expect(html.indexOf('id="waiting-cc1"')).toBeLessThan(html.indexOf('id="agent-w1"'));
    const readOnly = renderLive(makeSnapshot([waiting]), { readOnly: true, transitions: [] });
    expect(readOnly).not.toContain('<button');
    expect(readOnly).toContain('read-only');
  });
});

describe('metrics', () => {
  it('names and labels as specified; spend families only with the spend meter', async () => {
    const render = createMetricsRenderer();
    const plain = makeSnapshot([makeAgent('a1', { readiness: 'working', flags: ['DRIFT'] }), makeAgent('q"\\\n', { class: null })]);
    const text = await render({ snapshot: plain, transitions: [], durationSeconds: 0.25, seq: 1 }, new Map([['dead', 2]]));
    expect(text).toContain('mosaic_agent_readiness{agent="a1",class="code",runtime="claude",host="');
    expect(text).toMatch(/mosaic_agent_readiness\{[^}]*readiness="working"\} 1/);
    expect(text).not.toMatch(/readiness="dead"/);
    expect(text.match(/^mosaic_agent_readiness\{/gm)).toHaveLength(2);
    expect(text).toContain('mosaic_agent_flag{agent="a1",flag="DRIFT"} 1');
    expect(text).toContain('mosaic_transitions_total{to="dead"} 2');
    // Label values escaped as the text format says: backslash, double quote, line feed.
    expect(text).toContain('mosaic_agent_readiness{agent="q\\"\\\\\\n",class="",');
    expect(text).toContain('mosaic_snapshot_duration_seconds 0.25');
    expect(text).toMatch(/^mosaic_fleet_paused 0$/m);
    expect(text).not.toMatch(/^mosaic_spend_tokens_total\{/m);
    const spend = {
      tokens: { input: 10, output: 20, cacheRead: 30, cacheWrite: 0, reasoning: 5, total: 65 },
      costUsd: 0.5,
      since: 'x',
      quota: [{ window: 'primary', usedPercent: 42 }],
    };
    const metered = makeSnapshot([{ ...makeAgent('a1'), spend } as ReturnType<typeof makeAgent>]);
    const text2 = await render({ snapshot: metered, transitions: [], durationSeconds: 0.1, seq: 2 }, new Map());
    expect(text2).toContain('mosaic_spend_tokens_total{agent="a1",kind="output"} 20');
    expect(text2).toContain('mosaic_spend_cost_usd_total{agent="a1"} 0.5');
    expect(text2).toContain('mosaic_quota_used_percent{agent="a1",window="primary"} 42');
  });
});
