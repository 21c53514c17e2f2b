/**
 * The simulated agent of `mosaic-top demo`: runs in a tmux pane, alternates
 * busy/idle, writes protocol-v1 heartbeats with the project's own writer, reads lines from its
 * terminal and acknowledges each with `ack: <line>`.
 *
 *   node dist/src/demo/sim-agent.js --agent NAME --run-dir DIR [--mode cycle|silent|exit]
 *        [--busy S] [--idle S] [--interval S] [--beat-age S] [--exit-after S] [--exit-code N]
 *        [--input-mode accept|queue|typed|ignore] [--screen plain|claude|codex|pi|opencode]
 *
 * Modes:
 *   cycle  (default) busy for --busy s, idle for --idle s, forever; a beat on every change and
 *          every --interval s; an input line makes it busy for a moment.
 *   silent one beat (dated --beat-age s in the past), then never again: goes stale.
 *   exit   beats like `cycle`, then exits with --exit-code after --exit-after s (the pane dies).
 *   prompt a turn that stops at Claude Code's Bash permission prompt, with the real runtime's
 *          screen text (shared/spec/runtimes.md): one `busy` beat, then no beat while it waits
 *          (a waiting runtime writes none) — the screen rules say `waiting`. Like Claude Code it
 *          reads keys raw while it waits: `1` or `y` alone approves (busy for --busy s, idle for
 *          --idle s, then the prompt again); `3`, `n` or Escape rejects.
 *   limited a turn that ended on a rate limit: Claude Code's `API Error: … (429)` on screen at
 *          the idle input box, and a `state=stuck reason=rate limited (429)` beat ⇒ `stuck` +
 *          LIMITED. Any input line starts a good turn (busy, then idle), the next line hits the
 *          limit again.
 *
 * Phase control (for tests, instead of waiting out a timed phase): SIGUSR1 ends the current
 * busy/idle phase of `cycle` at the next tick (~250 ms).
 *
 * Input: by default lines are read cooked and acknowledged with `ack: <line>`. With
 * `--input-mode accept|queue|typed|ignore` the terminal is read raw with bracketed paste on
 * and the agent behaves as described in ./sim-input.ts (one receipt per mode).
 *
 * Deliberately small; extend behaviours behind new modes/flags rather than changing these.
 */
import readline from 'node:readline';
import { writeHeartbeat, type HeartbeatState } from '../../fleet/heartbeat.js';
import { messageOf } from '../../lib/errors.js';
import { SIM_INPUT_MODES, SIM_SCREENS, SimInput, type SimInputMode, type SimScreen } from './sim-input.js';

/** Behaviours of the sim agent (see the module comment). */
export const SIM_MODES = ['cycle', 'silent', 'exit', 'prompt', 'limited'] as const;
export type SimMode = (typeof SIM_MODES)[number];

/** The Bash command the `prompt` mode asks permission for. */
export const SIM_PROMPT_COMMAND = 'echo hi > proto.txt';

/** A full-width rule as Claude Code draws it around its input box. */
const RULE = '─'.repeat(100);

/** Claude Code's idle input box and footer (runtimes.md, measured on 2.1.197). */
export const CLAUDE_IDLE_BOX = ['', RULE, '❯ ', RULE, '  ? for shortcuts'];

/** Claude Code 2.1.197's Bash permission prompt, as it shows at the bottom of the screen. */
export function claudePermissionScreen(command: string): string[] {
  return [
    `● Bash(${command})`,
    '  ⎿  Waiting…',
    '',
    RULE,
    ' Bash command',
    '',
    `   ${command}`,
    '   Run the command',
    '',
    ' Do you want to proceed?',
    ' ❯ 1. Yes',
    '   2. Yes, and always allow access to work/ from this project',
    '   3. No',
    '',
    ' Esc to cancel · Tab to amend · ctrl+e to explain',
  ];
}

/** Claude Code's screen after a turn that hit a rate limit (MAX_RETRIES=1). */
export const CLAUDE_RATE_LIMITED = ['● API Error: Request rejected (429) · Rate limited: too many requests', '', '✻ Churned for 1s'];

/** Parsed command line of the sim agent. */
export interface SimAgentOptions {
  agent: string;
  runDir: string;
  mode: SimMode;
  /** Seconds per busy phase. */
  busySeconds: number;
  /** Seconds per idle phase. */
  idleSeconds: number;
  /** Seconds between beats. */
  intervalSeconds: number;
  /** Seconds to backdate the (only) beat in `silent` mode. */
  beatAgeSeconds: number;
  /** Seconds before exiting in `exit` mode. */
  exitAfterSeconds: number;
  exitCode: number;
  /** Raw-terminal input behaviour (`--input-mode`), null = cooked line input with `ack:`. */
  inputMode: SimInputMode | null;
  /** Which runtime's input area the raw input modes draw (`--screen`, default plain `> `). */
  screen: SimScreen;
}

/** Parses `--key value` arguments; throws with a usage message on anything unknown or malformed. */
export function parseSimAgentArgs(argv: readonly string[]): SimAgentOptions {
  const o: SimAgentOptions = {
    agent: '',
    runDir: '',
    mode: 'cycle',
    busySeconds: 8,
    idleSeconds: 6,
    intervalSeconds: 5,
    beatAgeSeconds: 600,
    exitAfterSeconds: 2,
    exitCode: 3,
    inputMode: null,
    screen: 'plain',
  };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number ≥ 0, got "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    switch (flag) {
      case '--agent':
        o.agent = v ?? '';
        i++;
        break;
      case '--run-dir':
        o.runDir = v ?? '';
        i++;
        break;
      case '--mode':
        if (!SIM_MODES.includes(v as SimMode)) throw new Error(`--mode must be ${SIM_MODES.join(', ')}, got "${v ?? ''}"`);
        o.mode = v as SimMode;
        i++;
        break;
      case '--busy':
        o.busySeconds = num(flag, v);
        i++;
        break;
      case '--idle':
        o.idleSeconds = num(flag, v);
        i++;
        break;
      case '--interval':
        o.intervalSeconds = Math.max(1, num(flag, v));
        i++;
        break;
      case '--beat-age':
        o.beatAgeSeconds = num(flag, v);
        i++;
        break;
      case '--exit-after':
        o.exitAfterSeconds = num(flag, v);
        i++;
        break;
      case '--exit-code':
        o.exitCode = Math.floor(num(flag, v));
        i++;
        break;
      case '--input-mode':
        if (!SIM_INPUT_MODES.includes(v as SimInputMode)) throw new Error(`--input-mode must be ${SIM_INPUT_MODES.join(', ')}, got "${v ?? ''}"`);
        o.inputMode = v as SimInputMode;
        i++;
        break;
      case '--screen':
        if (!SIM_SCREENS.includes(v as SimScreen)) throw new Error(`--screen must be ${SIM_SCREENS.join(', ')}, got "${v ?? ''}"`);
        o.screen = v as SimScreen;
        i++;
        break;
      default:
        throw new Error(`unknown argument "${flag}"`);
    }
  }
  if (!o.agent || !o.runDir) throw new Error(`usage: sim-agent --agent NAME --run-dir DIR [--mode ${SIM_MODES.join('|')}]`);
  return o;
}

/** One running sim agent: its options, the state its beats report, and its raw input (when `--input-mode` is set). */
interface SimRun {
  o: SimAgentOptions;
  state: HeartbeatState;
  card: string | null;
  simInput: SimInput | null;
}

/** Writes the agent's beat (state, card, optional note); a failure is printed on its screen, never thrown. */
function beat(run: SimRun, note?: string): void {
  try {
    writeHeartbeat(run.o.runDir, run.o.agent, { state: run.state, card: run.card, note: note ?? null, interval: run.o.intervalSeconds, pid: process.pid });
  } catch (error) {
    process.stdout.write(`heartbeat failed: ${messageOf(error)}\n`);
  }
}

/** Prints one line on the agent's screen (through the raw input's screen when there is one). */
function say(run: SimRun, line: string): void {
  if (run.simInput) run.simInput.print(line);
  else process.stdout.write(`${line}\n`);
}

/** Reads the terminal per `--input-mode` (raw, bracketed paste) or as cooked lines; `take` gets each message. Stdin's end exits 0. */
function listenForInput(run: SimRun, take: (line: string) => void): void {
  const { o } = run;
  if (o.inputMode) {
    const simInput = new SimInput(
      o.inputMode,
      process.stdout,
      { isBusy: () => run.state === 'busy', take: (text) => take(text.split('\n')[0] ?? '') },
      o.screen,
      () => process.stdout.columns || 80,
    );
    run.simInput = simInput;
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => run.simInput?.feed(chunk));
    process.stdin.on('end', () => process.exit(0));
    process.on('exit', () => run.simInput?.end());
    simInput.begin();
  } else {
    const input = readline.createInterface({ input: process.stdin, terminal: false });
    input.on('line', take);
    input.on('close', () => process.exit(0));
  }
}

/**
 * Modes `cycle` and `exit`: busy for `--busy` s, idle for `--idle` s, a beat on each change and
 * every `--interval` s; SIGUSR1 ends the phase at the next tick (250 ms); an input line is
 * acknowledged, sets the card (`card: X`) and makes the agent busy.
 */
function runCycle(run: SimRun): void {
  const { o } = run;
  let phaseEndsAt = Date.now() + o.busySeconds * 1000;
  say(run, '[busy]');
  beat(run, 'starting');
  let lastBeat = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    if (now >= phaseEndsAt) {
      run.state = run.state === 'busy' ? 'idle' : 'busy';
      phaseEndsAt = now + (run.state === 'busy' ? o.busySeconds : o.idleSeconds) * 1000;
      say(run, `[${run.state}]`);
      beat(run);
      lastBeat = now;
      if (run.state === 'idle') run.simInput?.onIdle();
    } else if (now - lastBeat >= o.intervalSeconds * 1000) {
      beat(run);
      lastBeat = now;
    }
  }, 250);
  tick.unref();
  process.on('SIGUSR1', () => {
    phaseEndsAt = 0;
  });
  const onLine = (line: string) => {
    say(run, `ack: ${line}`);
    const m = /^card[:= ]\s*(\S+)/i.exec(line.trim());
    if (m?.[1]) run.card = m[1];
    run.state = 'busy';
    phaseEndsAt = Date.now() + o.busySeconds * 1000;
    run.simInput?.refresh();
    beat(run, `got input (${line.length} chars)`);
    lastBeat = Date.now();
  };
  listenForInput(run, onLine);
  // Keep the process alive while stdin is open (readline holds it) and the timer runs.
  setInterval(() => {}, 1 << 30);
}

/** Mode `silent`: one beat dated `--beat-age` s in the past, then none; input is still acknowledged. */
function runSilent(run: SimRun): void {
  const { o } = run;
  writeHeartbeat(o.runDir, o.agent, {
    state: 'idle',
    note: 'last beat before going silent',
    interval: o.intervalSeconds,
    pid: process.pid,
    ts: Math.floor(Date.now() / 1000 - o.beatAgeSeconds),
  });
  say(run, 'wrote one old beat; not beating any more');
  // Silent means no more beats; input still follows --input-mode.
  listenForInput(run, (line) => say(run, `ack: ${line}`));
  setInterval(() => {}, 1 << 30);
}

/** Runs the sim agent until stdin closes, a signal arrives, or (mode `exit`) the exit timer fires. */
export function runSimAgent(o: SimAgentOptions): void {
  // A silent agent wrote one idle beat and stopped: its screen must not show a running turn.
  const run: SimRun = { o, state: o.mode === 'silent' ? 'idle' : 'busy', card: null, simInput: null };
  say(run, `sim-agent ${o.agent} (mode ${o.mode}) ready — type a line and press Enter`);
  if (o.mode === 'prompt' || o.mode === 'limited') {
    runRuntimeScreens(
      o,
      (line) => say(run, line),
      (take) => listenForInput(run, take),
    );
  } else if (o.mode === 'silent') runSilent(run);
  else runCycle(run);
  if (o.mode === 'exit') {
    setTimeout(() => {
      say(run, `exiting with status ${o.exitCode}`);
      process.exit(o.exitCode);
    }, o.exitAfterSeconds * 1000);
  }
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
}

/**
 * Modes `prompt` and `limited`: the screens of a real Claude Code turn that waits at a
 * permission prompt, or that ended on a rate limit, with the beats its hooks would write
 * (`busy` at the turn's start; `stuck` with the reason on the failed turn; none while waiting).
 */
function runRuntimeScreens(o: SimAgentOptions, say: (line: string) => void, listen: (take: (line: string) => void) => void): void {
  const beat = (state: HeartbeatState, reason: string | null = null) => {
    try {
      writeHeartbeat(o.runDir, o.agent, { state, reason, pid: process.pid });
    } catch (error) {
      say(`heartbeat failed: ${messageOf(error)}`);
    }
  };
  const show = (lines: readonly string[]) => {
    for (const l of lines) say(l);
  };
  let phase: 'waiting' | 'stuck' | 'busy' | 'idle' = 'idle';
  let timer: NodeJS.Timeout | null = null;
  const later = (seconds: number, fn: () => void) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, seconds * 1000);
  };
  const turn = (then: () => void) => {
    phase = 'busy';
    beat('busy');
    show(['', '✶ Working… (esc to interrupt)', RULE, '❯ ', RULE, '  esc to interrupt']);
    later(o.busySeconds, () => {
      phase = 'idle';
      beat('idle');
      show(['', '● Done.', '', '✻ Worked for a while', ...CLAUDE_IDLE_BOX]);
      later(o.idleSeconds, then);
    });
  };
  const ask = () => {
    phase = 'waiting';
    beat('busy');
    show(['', '❯ tidy the workspace', '', ...claudePermissionScreen(SIM_PROMPT_COMMAND)]);
  };
  const fail = () => {
    phase = 'stuck';
    beat('busy');
    show(['', '❯ run the tests', '', ...CLAUDE_RATE_LIMITED, ...CLAUDE_IDLE_BOX]);
    beat('stuck', 'rate limited (429)');
  };
  if (o.mode === 'prompt') ask();
  else fail();
  /** Answers the open prompt as Claude Code does: `1`/`y` allow once, `3`/`n`/Escape reject; other keys do nothing. */
  const answerKey = (key: string): void => {
    if (key === '1' || key === 'y') turn(ask);
    else if (key === '3' || key === 'n' || key === '\u001b') {
      show(['  ⎿  Interrupted · What should Claude do instead?', ...CLAUDE_IDLE_BOX]);
      phase = 'idle';
      beat('idle');
      later(o.idleSeconds, ask);
    }
  };
  const onLine = (line: string) => {
    if (phase === 'waiting') return answerKey(line.trim().toLowerCase());
    if (phase === 'busy') return;
    // A new turn starts: it clears `stuck`; the one after hits the limit again.
    if (o.mode === 'limited') turn(fail);
    else turn(ask);
  };
  if (o.mode === 'prompt' && process.stdin.isTTY)
    listenForKeys(
      phaseIs('waiting', () => phase),
      answerKey,
      onLine,
    );
  else listen(onLine);
  setInterval(() => {}, 1 << 30);
}

/** `() => phase === want`, for a phase read at call time. */
function phaseIs(want: string, phase: () => string): () => boolean {
  return () => phase() === want;
}

/**
 * Reads the terminal raw, like a runtime's permission prompt: while `waiting()`, each key is
 * handed to `onKey` at once (no Enter: Claude Code acts on `1` or Escape alone); otherwise keys
 * collect into a line handed to `onLine` at Enter. Ctrl-C exits; stdin's end exits.
 */
function listenForKeys(waiting: () => boolean, onKey: (key: string) => void, onLine: (line: string) => void): void {
  process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  let line = '';
  process.stdin.on('data', (chunk: string) => {
    // A lone Escape is the Escape key; anything longer that starts with it is a sequence (arrows).
    const keys = chunk === '\u001b' ? [chunk] : Array.from(chunk.startsWith('\u001b') ? '' : chunk);
    for (const key of keys) {
      if (key === '\u0003') process.exit(0);
      if (waiting()) {
        line = '';
        onKey(key.toLowerCase());
      } else if (key === '\r' || key === '\n') {
        onLine(line);
        line = '';
      } else line += key;
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && /sim-agent(\.js)?$/.test(process.argv[1])) {
  try {
    runSimAgent(parseSimAgentArgs(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`sim-agent: ${messageOf(error)}\n`);
    process.exit(2);
  }
}
