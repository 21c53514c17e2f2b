/**
 * Test bed: starts a REAL agent runtime (Claude Code, Codex, pi, opencode) in a tmux pane on an
 * isolated socket, in a throwaway HOME built with the recipe of shared/spec/runtimes.md so it
 * reaches its input prompt with no dialog, pointed at our {@link ModelEndpoint}.
 *
 * ```ts
 * const endpoint = await startModelEndpoint();
 * const cc = await launchRuntime('claude', { endpoint });   // waits for the idle prompt
 * await cc.submit('hello');                                  // bracketed paste + Enter
 * await cc.waitForScreen(/OK\./, 30_000);
 * await cc.stop();                                           // ends every process it spawned, removes its dirs
 * ```
 *
 * Isolation: the pane runs `env -i` with only the recipe's variables (no operator
 * credentials leak in), HOME/CODEX_HOME/workdir live under
 * `~/.cache/mosaic-top-test/panes/<id>` (not /tmp: Codex refuses helper binaries under a temp
 * dir), and every process carries `MOSAIC_TESTBED_ID=<id>` so {@link RuntimePane.stop} finds
 * what the runtime spawned — the pane's process tree AND anything that left it (a daemon
 * reparented to pid 1) — and ends it by pid. Keep at most two runtime panes alive at once
 * (2 cores), and run real-runtime test files under `flock /tmp/mosaic-runtime.lock`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { ensureRuntime, type InstalledRuntime, type RuntimeName } from './install.js';
import { endProcesses, processStartTicks, testbedPids } from './processes.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acquirePaneSlot } from './slots.js';

/** Model id every runtime is configured with (the endpoint answers any). */
export const TEST_MODEL = 'test-model';
/** Anthropic API key given to Claude Code (fake; its last 20 chars are pre-approved). */
export const TEST_ANTHROPIC_KEY = 'sk-ant-api03-mosaic-top-test-key-0123456789abcdefghij';
/** API key given to Codex, pi and opencode (fake). */
export const TEST_OPENAI_KEY = 'sk-test-mosaic-top-0123456789';

/**
 * Screen texts of the runtimes at the pinned versions (exact strings and whole screens:
 * test/runtimes/SCREENS.md). Test-bed facts for waiting on a state, NOT the program's screen
 * rules.
 * - `prompt`: the input line is there and no dialog covers it (Codex, pi and opencode show it
 *   while a turn streams too: it does not mean idle);
 * - `busy`: the runtime's busy marker (Codex shows it only until the first token);
 * - `permission`: its permission prompt for a shell command (pi has none);
 * - `rateLimited`: what a 429 turn leaves on screen.
 */
export const SCREEN: Record<RuntimeName, { prompt: RegExp; busy: RegExp; permission: RegExp | null; rateLimited: RegExp }> = {
  claude: {
    // 2.1.197 and 2.1.332 in manual mode: `? for shortcuts`; 2.1.332 in auto mode (its default): `⏵⏵ auto mode on`.
    prompt: /\? for shortcuts|⏵⏵ auto mode on/,
    busy: /esc to interrupt/,
    permission: /Do you want to proceed\?/,
    rateLimited: /API Error: Request rejected \(429\)/,
  },
  codex: {
    prompt: /› Ask Codex to do anything/,
    busy: /Working \(\d+s • esc to interrupt\)/,
    permission: /Would you like to run the following command\?/,
    rateLimited: /exceeded retry limit, last status: 429/,
  },
  pi: {
    prompt: /\d+\.\d%\/\d+k \(auto\)/,
    busy: /Working\.\.\./,
    permission: null,
    rateLimited: /Error: 429/,
  },
  opencode: {
    prompt: /ctrl\+p commands/,
    busy: /esc interrupt/,
    permission: /Permission required/,
    rateLimited: /Rate limited/,
  },
};

/**
 * Main requests one failed turn makes with the recipe's retry settings (Claude
 * `CLAUDE_CODE_MAX_RETRIES=1`, Codex `request_max_retries = 0`, pi `retry.maxRetries: 1`): queue an
 * error reply with `times` = this to fail the whole turn. opencode retries 429/500 without end.
 */
export const ERROR_ATTEMPTS: Record<RuntimeName, number> = { claude: 2, codex: 1, pi: 2, opencode: 1 };

/** Options of {@link launchRuntime}. */
export interface LaunchOptions {
  /** The model endpoint the runtime talks to. */
  endpoint: ModelEndpoint;
  /** tmux server to start the pane on; default: a fresh isolated one, stopped by `stop()`. */
  tmux?: IsolatedTmux;
  /** tmux session name (default: the runtime's name). */
  session?: string;
  /** Pane size (default 120×40). */
  width?: number;
  height?: number;
  /** Extra environment for the runtime (e.g. MOSAIC_AGENT_NAME, MOSAIC_HOME). */
  env?: Record<string, string>;
  /** Extra command-line arguments for the runtime. */
  args?: string[];
  /**
   * Exact version of the runtime to start (installed into the cache on first use); default the
   * selected set's (`MOSAIC_TEST_RUNTIME_SET`, test/runtimes/runtimes.json).
   */
  version?: string;
  /**
   * Called after the recipe's files are written and before the runtime starts: write hook
   * configuration here (Claude `<workdir>/.claude/settings.json`, `<codexHome>/hooks.json`, …).
   */
  prepare?: (dirs: RuntimeDirs) => void | Promise<void>;
  /** Wait for the idle prompt before returning (default true), bounded by `startBoundMs` (default 60 000). */
  waitForIdle?: boolean;
  startBoundMs?: number;
}

/** The throwaway directories of one runtime pane. */
export interface RuntimeDirs {
  /** Root of everything below (removed by stop()). */
  root: string;
  /** The runtime's HOME. */
  home: string;
  /** The runtime's working directory (trusted in its config). */
  workdir: string;
  /** Codex's CODEX_HOME (`<home>/.codex`); set for every runtime, used by Codex only. */
  codexHome: string;
}

/** A running runtime pane. */
export interface RuntimePane {
  runtime: RuntimeName;
  installed: InstalledRuntime;
  tmux: IsolatedTmux;
  session: string;
  /** tmux target of the pane: `=<session>:0.0`. */
  target: string;
  dirs: RuntimeDirs;
  /** The environment the runtime runs with (exactly; `env -i`). */
  env: Record<string, string>;
  /** Value of MOSAIC_TESTBED_ID in every process of this pane. */
  testbedId: string;
  /** Pid of the pane's process (the runtime itself: the wrapper execs it). */
  panePid: number;
  /** The visible screen (`capture-pane -p`). */
  capture(): Promise<string>;
  /** See {@link waitForScreen}. */
  waitForScreen(re: RegExp, boundMs?: number): Promise<string>;
  /** Polls until `re` no longer matches the screen; returns the screen. */
  waitForScreenGone(re: RegExp, boundMs?: number): Promise<string>;
  /** `send-keys` of tmux key names (`Enter`, `Escape`, `Up`, `C-c`, …). */
  keys(...keys: string[]): Promise<void>;
  /**
   * Types `text` as a bracketed paste, waits until its start shows on screen (`boundMs`,
   * default 15 000), then presses Enter. Only at the runtime's input line: it first waits up to
   * `promptBoundMs` (default 15 000) for {@link SCREEN}`.prompt` and throws with the screen when
   * it does not show (never types into a dialog), unless `{ force: true }`.
   */
  submit(text: string, opts?: { force?: boolean; boundMs?: number; promptBoundMs?: number }): Promise<void>;
  /** Pids of every live process of this pane (tree + MOSAIC_TESTBED_ID). */
  pids(): number[];
  /** Ends every process of this pane by pid, kills its session (and the tmux server if it owns it), removes its dirs. Idempotent. */
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls the pane's visible screen (capture-pane, every 100 ms) until `re` matches, bounded by
 * `boundMs` (default 30 000); returns that screen. On timeout throws with the last screen in the
 * message, so a failing test shows what the runtime really showed.
 */
export async function waitForScreen(pane: { capture(): Promise<string> }, re: RegExp, boundMs = 30_000): Promise<string> {
  const deadline = Date.now() + boundMs;
  let last: string;
  for (;;) {
    try {
      last = await pane.capture();
      if (re.test(last)) return last;
    } catch (error) {
      last = `(capture failed: ${(error as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`screen did not show ${re} within ${boundMs} ms; last screen:\n${last.replace(/\s+$/gm, '')}`);
    await sleep(100);
  }
}

function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function terminalName(): string {
  return ['/lib/terminfo/t/tmux-256color', '/usr/share/terminfo/t/tmux-256color'].some((p) => fs.existsSync(p)) ? 'tmux-256color' : 'screen-256color';
}

/** Writes the recipe's files into the throwaway dirs; returns the runtime's environment additions and argv. */
function recipe(runtime: RuntimeName, dirs: RuntimeDirs, endpoint: ModelEndpoint): { env: Record<string, string>; args: string[] } {
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  switch (runtime) {
    case 'claude':
      write(
        path.join(dirs.home, '.claude.json'),
        JSON.stringify(
          {
            hasCompletedOnboarding: true,
            customApiKeyResponses: { approved: [TEST_ANTHROPIC_KEY.slice(-20)], rejected: [] },
            projects: { [dirs.workdir]: { hasTrustDialogAccepted: true } },
          },
          null,
          2,
        ),
      );
      return {
        env: {
          ANTHROPIC_BASE_URL: endpoint.url,
          ANTHROPIC_API_KEY: TEST_ANTHROPIC_KEY,
          DISABLE_AUTOUPDATER: '1',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          CLAUDE_CODE_MAX_RETRIES: '1',
          // Else each start tries to git-clone the official plugin marketplace from github.com
          // (https, then ssh) in the background: network beyond 127.0.0.1, and on a machine
          // with network a clone per pane. No test uses a plugin.
          CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
        },
        args: [],
      };
    case 'codex':
      write(
        path.join(dirs.codexHome, 'config.toml'),
        [
          `model = "${TEST_MODEL}"`,
          'model_provider = "fake"',
          'approval_policy = "on-request"',
          'sandbox_mode = "workspace-write"',
          'check_for_update_on_startup = false',
          '',
          '[model_providers.fake]',
          'name = "fake"',
          `base_url = "${endpoint.openaiBaseUrl}"`,
          'env_key = "FAKE_API_KEY"',
          'wire_api = "responses"',
          'request_max_retries = 0',
          'stream_max_retries = 0',
          '',
          `[projects.${JSON.stringify(dirs.workdir)}]`,
          'trust_level = "trusted"',
          '',
          '[features]',
          // Without it Codex starts an app-server daemon that outlives the pane (runtimes.md).
          'daemon_auto_start = false',
          '',
        ].join('\n'),
      );
      return { env: { CODEX_HOME: dirs.codexHome, FAKE_API_KEY: TEST_OPENAI_KEY }, args: [] };
    case 'pi':
      write(
        path.join(dirs.home, '.pi', 'agent', 'models.json'),
        JSON.stringify(
          {
            providers: {
              fake: {
                baseUrl: endpoint.openaiBaseUrl,
                api: 'openai-completions',
                apiKey: TEST_OPENAI_KEY,
                models: [
                  {
                    id: TEST_MODEL,
                    name: 'Test model',
                    reasoning: false,
                    input: ['text'],
                    contextWindow: 128000,
                    maxTokens: 4096,
                    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                  },
                ],
              },
            },
          },
          null,
          2,
        ),
      );
      write(
        path.join(dirs.home, '.pi', 'agent', 'settings.json'),
        JSON.stringify(
          { defaultProvider: 'fake', defaultModel: TEST_MODEL, retry: { enabled: true, maxRetries: 1, baseDelayMs: 500, provider: { maxRetries: 0 } } },
          null,
          2,
        ),
      );
      return { env: { PI_OFFLINE: '1' }, args: [] };
    case 'opencode':
      // opencode installs `@opencode-ai/plugin` into each config dir at start (npm, from the
      // registry: ~35 s on this machine, and network beyond 127.0.0.1) unless the dir has a
      // node_modules and a package-lock naming it. Say it is there: the recipe's panes load no
      // plugin that needs it (ours is plain JS).
      fs.mkdirSync(path.join(dirs.home, '.config', 'opencode', 'node_modules'), { recursive: true });
      write(
        path.join(dirs.home, '.config', 'opencode', 'package-lock.json'),
        JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } }, null, 2),
      );
      write(
        path.join(dirs.home, '.config', 'opencode', 'opencode.json'),
        JSON.stringify(
          {
            $schema: 'https://opencode.ai/config.json',
            autoupdate: false,
            share: 'disabled',
            permission: { bash: 'ask', edit: 'ask' },
            model: `fake/${TEST_MODEL}`,
            small_model: `fake/${TEST_MODEL}`,
            provider: {
              fake: {
                npm: '@ai-sdk/openai-compatible',
                name: 'Fake',
                options: { baseURL: endpoint.openaiBaseUrl, apiKey: TEST_OPENAI_KEY },
                models: { [TEST_MODEL]: { name: 'Test model' } },
              },
            },
          },
          null,
          2,
        ),
      );
      // opencode's models.dev catalog: with OPENCODE_DISABLE_MODELS_FETCH and no cached copy it
      // builds every provider from the ~4 MB snapshot in its binary at each start — measured
      // 1.18.33: ~6 s of CPU before the prompt and ~7 s more after it (server worker and TUI),
      // against ~11 s in all with an empty catalog. The recipe's only provider is opencode.json's
      // `fake`, which no catalog entry names: OPENCODE_MODELS_PATH points at an empty catalog
      // (same screens, same requests).
      write(path.join(dirs.root, 'opencode-models.json'), '{}\n');
      // Start-up work the recipe's panes never use (measured 1.18.33, start + one turn: ~10.2 s
      // of CPU before, ~8.2 s after): the fff file index of the workdir (`@` file search: no
      // test types `@`), the workdir's file watcher (its events reach no hook: our plugin
      // forwards session/permission events only), the embedded web UI (the TUI talks to the
      // server's API, never the page), the Claude Code compatibility scan (CLAUDE.md and skills
      // under HOME: the throwaway HOME has none). BUN_JSC_useFTLJIT=0 keeps JavaScriptCore's
      // top optimizing tier off: a pane lives seconds to minutes, and FTL compiles on
      // background threads (~0.6 s per start) for code that never runs long enough to repay it.
      // Same screens, hooks and requests.
      return {
        env: {
          OPENCODE_DISABLE_AUTOUPDATE: '1',
          OPENCODE_DISABLE_MODELS_FETCH: '1',
          OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
          OPENCODE_MODELS_PATH: path.join(dirs.root, 'opencode-models.json'),
          OPENCODE_DISABLE_FFF: '1',
          OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER: '1',
          OPENCODE_DISABLE_EMBEDDED_WEB_UI: '1',
          OPENCODE_DISABLE_CLAUDE_CODE: '1',
          BUN_JSC_useFTLJIT: '0',
        },
        args: [],
      };
  }
}

/** Root of the throwaway pane dirs: `$MOSAIC_TEST_RUNTIMES_DIR/../panes` or `~/.cache/mosaic-top-test/panes`. */
export function paneDirsRoot(): string {
  const base = process.env.MOSAIC_TEST_RUNTIMES_DIR ? path.dirname(process.env.MOSAIC_TEST_RUNTIMES_DIR) : path.join(os.homedir(), '.cache', 'mosaic-top-test');
  return path.join(base, 'panes');
}

/**
 * Starts `runtime` (installing it on first use) in a tmux pane with a throwaway HOME, pointed
 * at `opts.endpoint`, and (by default) waits for its idle prompt. Throws with the last screen
 * when the prompt does not show within `startBoundMs`; everything started is ended first.
 */
export async function launchRuntime(runtime: RuntimeName, opts: LaunchOptions): Promise<RuntimePane> {
  const installed = await ensureRuntime(runtime, undefined, { version: opts.version });
  const releaseSlot = await acquirePaneSlot();
  const testbedId = `${runtime}-${process.pid}-${randomBytes(4).toString('hex')}`;
  let root: string;
  try {
    fs.mkdirSync(paneDirsRoot(), { recursive: true });
    root = fs.realpathSync(fs.mkdtempSync(path.join(paneDirsRoot(), `${runtime}-`)));
  } catch (error) {
    await releaseSlot().catch(() => {});
    throw error;
  }
  const dirs: RuntimeDirs = { root, home: path.join(root, 'home'), workdir: path.join(root, 'work'), codexHome: path.join(root, 'home', '.codex') };
  let r: ReturnType<typeof recipe>;
  try {
    fs.mkdirSync(dirs.home, { recursive: true });
    fs.mkdirSync(dirs.workdir, { recursive: true });
    r = recipe(runtime, dirs, opts.endpoint);
    await opts.prepare?.(dirs);
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    await releaseSlot().catch(() => {});
    throw error;
  }
  const env: Record<string, string> = {
    HOME: dirs.home,
    PATH: [path.dirname(installed.binPath), path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(
      ':',
    ),
    TERM: terminalName(),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    USER: os.userInfo().username,
    SHELL: '/bin/bash',
    MOSAIC_TESTBED_ID: testbedId,
    ...r.env,
    ...(opts.env ?? {}),
  };
  // The wrapper keeps tmux's TMUX/TMUX_PANE (hooks find their session through them), then
  // execs the runtime with exactly `env`.
  const script = path.join(root, 'start.sh');
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${shQuote(v)}`);
  fs.writeFileSync(
    script,
    [
      '#!/bin/sh',
      `cd ${shQuote(dirs.workdir)} || exit 1`,
      `exec env -i TMUX="$TMUX" TMUX_PANE="$TMUX_PANE" ${assignments.join(' ')} ${[installed.binPath, ...r.args, ...(opts.args ?? [])].map(shQuote).join(' ')}`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const ownTmux = !opts.tmux;
  const tmux = opts.tmux ?? (await startIsolatedTmux('rt'));
  const session = opts.session ?? runtime;
  const target = `=${session}:0.0`;
  let panePid = 0;
  let bornSince = 0;
  let stopped = false;
  const pane: RuntimePane = {
    runtime,
    installed,
    tmux,
    session,
    target,
    dirs,
    env,
    testbedId,
    panePid: 0,
    capture: () => tmux.capture(target),
    waitForScreen: (re, boundMs) => waitForScreen(pane, re, boundMs),
    async waitForScreenGone(re, boundMs = 30_000) {
      const deadline = Date.now() + boundMs;
      for (;;) {
        const screen = await pane.capture();
        if (!re.test(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`screen still shows ${re} after ${boundMs} ms; last screen:\n${screen.replace(/\s+$/gm, '')}`);
        await sleep(100);
      }
    },
    async keys(...keys) {
      await tmux.ok(['send-keys', '-t', target, ...keys]);
    },
    async submit(text, o = {}) {
      if (!o.force) {
        try {
          await waitForScreen(pane, SCREEN[runtime].prompt, o.promptBoundMs ?? 15_000);
        } catch (error) {
          throw new Error(`${runtime} is not at its input line: not typing into it. ${(error as Error).message}`, { cause: error });
        }
      }
      const buffer = `mt-${testbedId}`;
      await tmux.ok(['set-buffer', '-b', buffer, '--', text]);
      await tmux.ok(['paste-buffer', '-p', '-d', '-b', buffer, '-t', target]);
      const head = (text.split('\n', 1)[0] ?? '').slice(0, 24).trim();
      if (head) await waitForScreen(pane, new RegExp(head.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), o.boundMs ?? 15_000);
      await tmux.ok(['send-keys', '-t', target, 'Enter']);
    },
    // Processes of this pane start no earlier than its shell: older ones are not read for the marker.
    pids: () => testbedPids(panePid || -1, testbedId, bornSince),
    async stop() {
      if (stopped) return;
      stopped = true;
      await endProcesses(
        () => pane.pids(),
        () => tmux.run(['kill-session', '-t', `=${session}`]),
      );
      if (ownTmux) await tmux.stop();
      fs.rmSync(root, { recursive: true, force: true });
      await releaseSlot().catch(() => {});
    },
  };
  try {
    await tmux.newSession(session, [script], { cwd: dirs.workdir, width: opts.width ?? 120, height: opts.height ?? 40 });
    panePid = Number((await tmux.ok(['display-message', '-p', '-t', target, '#{pane_pid}'])).trim());
    pane.panePid = panePid;
    bornSince = processStartTicks(panePid);
    if (opts.waitForIdle !== false) await pane.waitForScreen(SCREEN[runtime].prompt, opts.startBoundMs ?? 60_000);
  } catch (error) {
    await pane.stop();
    throw error;
  }
  return pane;
}
