/**
 * Screen rules shipped with the program: per runtime and version range, the texts
 * of a pane's visible screen that mark the idle input line, the busy marker, a queued message,
 * a permission prompt or question, an API error / limit, and where the input box is. DATA, not
 * code branches: fleet/screen.ts reads any rule set of this shape, and an operator's
 * `<home>/fleet/screen-rules.yaml` (same shape, YAML) overrides a runtime's entry.
 *
 * Every pattern is a JavaScript regular expression source (no flags; matched per line, against
 * `capture-pane -p` text: no colours, so dim placeholder text reads like typed text). Exact
 * strings measured with the real runtimes (shared/spec/runtimes.md, test/runtimes/SCREENS.md):
 * Claude Code 2.1.197 and 2.1.332, Codex 0.171.0, pi 0.73.1, opencode 1.18.33 — each set's
 * `proven` says the newest version it was proven on; a newer runtime raises RULES-STALE.
 */

/** Where a runtime's input box is, so "text left in the input box" is judged there only. */
export interface InputBoxRule {
  /**
   * A line that borders the box (Claude Code, pi: a full-width rule `────…`). When set, the box
   * is the lines between the LAST two such lines on screen; the transcript above (where Claude
   * echoes submitted messages with the same `❯`) is never read as the input box.
   */
  border?: string;
  /**
   * The box's first line; its `text` group is the typed text (e.g. `^❯ ?(?<text>.*)$`). Without
   * `border` it is searched bottom-up within the last `bottomLines` lines (Codex's composer
   * `› …` sits above the footer).
   */
  prompt: string;
  /** Texts the runtime shows in an empty box (placeholders, hints): read as an empty box. */
  placeholder?: string;
  /**
   * The box itself, found by its structure (`border` lines around the `prompt` line) with at
   * most `footerLines` non-blank lines below it, marks the idle input line — whatever footer
   * the release draws under it (Claude Code: `? for shortcuts`, `⏵⏵ auto mode on …`,
   * `⏸ manual mode on …`, `paste again to expand`). Busy and queued markers still win.
   */
  marksIdle?: boolean;
  /** Most non-blank lines below the box's lower border for `marksIdle` (default 3). */
  footerLines?: number;
}

/** A permission prompt or question: how to find it and take tool and command/file out of it. */
export interface PromptRule {
  /** `permission` (a tool call, answerable), `question`, or `dialog` (the runtime waits for a human on a screen of its own: never answered by mosaic-top). */
  kind: 'permission' | 'question' | 'dialog';
  /** The line that proves the prompt is open (e.g. `Do you want to proceed\?`); the last match on screen counts. */
  anchor: string;
  /** First line of the prompt block, searched upward from the anchor (at most `above` lines); may capture `tool`. */
  start?: string;
  /** Lines searched above the anchor for `start` (default 12). */
  above?: number;
  /** Last line of the block, searched downward from the anchor (at most `below` lines, default 8). */
  end?: string;
  below?: number;
  /** Tool name when the block names none (e.g. Codex asks only for shell commands). */
  tool?: string;
  /** Maps the captured `tool` text to the tool's name (`Bash command` ⇒ `Bash`, `Create file` ⇒ `Write`). */
  toolNames?: Record<string, string>;
  /** A pattern with a `detail` group searched in the block (command or file); default: the first non-blank line after the start line. */
  detail?: string;
  /**
   * A line after which the detail is the next non-blank line (Claude Code 2.1.332 draws the
   * command between two dashed rules `╌╌╌`); tried after `detail`, before the default.
   */
  detailAfter?: string;
  /** Lines never taken as the detail by the default (hints such as Claude Code's ` Tip: auto mode handles…`). */
  skip?: string;
}

/**
 * How a runtime's permission prompt is answered: ONE key per answer,
 * only the single-use options — allow once and deny, never "always allow" or a mode change.
 * Keys are tmux key names sent with `send-keys` (`1`, `y`, `Escape`).
 */
export interface AnswerRule {
  /** The key that picks the runtime's "allow once" option (Claude Code `1`, Codex `y`). */
  allow: string;
  /** The key that rejects the tool call (Claude Code's `Esc to cancel`, Codex's `(esc)`). */
  deny: string;
  /** Transcript texts that show a rejected tool call after a deny (evidence only). */
  rejected?: string[];
}

/** Error texts of a failed turn, by kind (`stuck`: LIMITED for rate_limit, AUTH for auth). */
export interface ErrorRules {
  rate_limit?: string[];
  auth?: string[];
  api?: string[];
}

/** The rules of one runtime (and version range). */
export interface ScreenRuleSet {
  /** Roster `runtime:` value these rules read (`claude`, `codex`, `pi`, `opencode`). */
  runtime: string;
  /** Other roster runtime names for the same program (e.g. `claude-code`). */
  aliases?: string[];
  /** A semver range of the runtime's versions (default any), e.g. `>=2.1 <3`. */
  versions?: string;
  /**
   * The newest runtime version these rules were proven on (the test bed's pinned sets): a
   * runtime read as newer raises RULES-STALE, the rules may not know its screens.
   */
  proven?: string;
  /** npm packages whose `package.json` gives the live process's version (a platform build `<name>-linux-x64` counts). */
  packages?: string[];
  /** A pattern over the executable's path with a `version` group, for installs without a package.json (Claude Code's native installer). */
  versionPath?: string;
  /** Non-blank lines at the bottom of the screen where idle/busy/queued markers are looked for (default 8). */
  bottomLines?: number;
  /** Non-blank lines at the bottom where a prompt's anchor is looked for (default 30). */
  promptLines?: number;
  inputBox?: InputBoxRule;
  /** Markers of the idle input line (any one, within `bottomLines`). */
  idle: string[];
  /** Markers of a running turn (any one, within `bottomLines`); they win over idle. */
  busy: string[];
  /** Markers of a message waiting behind the running turn. */
  queued?: string[];
  prompts?: PromptRule[];
  /** How its permission prompts are answered (absent: `mosaic-top answer` refuses for this runtime). */
  answer?: AnswerRule;
  errors?: ErrorRules;
  /**
   * A transcript line that starts a turn (the runtime's echo of a submitted message). An error
   * counts only when it appears after the last such line (the LAST turn ended on it); without
   * it, only within the last `errorLines` non-blank lines above the input box.
   */
  turnStart?: string;
  /** Lines above the input box where an error is looked for when `turnStart` is not set (default 6). */
  errorLines?: number;
  /**
   * Markers of a runtime retrying a failed request on its own, for ever (opencode: `[retrying
   * attempt #4]`): a busy screen showing one of them AND an error text in the bottom lines is
   * an `error` (the agent cannot go on by itself), not `busy`.
   */
  retrying?: string[];
  /** The runtime shows an idle-looking screen while a reply streams (Codex): idle is weak evidence. */
  idleMayStream?: boolean;
}

/** The rules file: version of the format and the rule sets (first matching runtime + version wins). */
export interface ScreenRulesFile {
  version: 1;
  runtimes: ScreenRuleSet[];
}

/** A full-width rule line (box-drawing horizontal), as Claude Code and pi draw around their input. */
const RULE_LINE = '^\\s*─{20,}\\s*$';

/** Claude Code's permission prompt (2.1.197: `❯ 1. Yes` … `3. No`; 2.1.332: a Tip line, the command between `╌╌╌` rules, `4. No`). */
const CLAUDE_PERMISSION: PromptRule = {
  kind: 'permission',
  anchor: '^\\s*Do you want to (proceed|create|make this edit to|overwrite|delete|allow)\\b.*\\?\\s*$',
  start:
    '^\\s*(?<tool>Bash command|Create file|Edit file|Overwrite file|Delete file|Read file|Fetch|Web search|Tool use|[A-Za-z][\\w.:-]* (command|tool))\\s*$',
  above: 24,
  end: '^\\s*Esc to cancel',
  below: 12,
  toolNames: {
    'Bash command': 'Bash',
    'Create file': 'Write',
    'Overwrite file': 'Write',
    'Edit file': 'Edit',
    'Read file': 'Read',
    Fetch: 'WebFetch',
    'Web search': 'WebSearch',
  },
  detail: '^\\s*Do you want to (?:create|make this edit to|overwrite|delete) (?<detail>.+?)\\?\\s*$',
  detailAfter: '^\\s*╌{3,}\\s*$',
  skip: '^\\s*Tip: ',
};

/** What every Claude Code rule set shares: names, version sources, the input box (by structure), busy/queued markers, answer keys, errors. */
const CLAUDE_COMMON: Omit<ScreenRuleSet, 'prompts'> = {
  runtime: 'claude',
  aliases: ['claude-code', 'claudecode'],
  packages: ['@anthropic-ai/claude-code'],
  versionPath: '/claude/versions/(?<version>\\d+\\.\\d+\\.\\d+)',
  inputBox: {
    border: RULE_LINE,
    prompt: '^❯\\s?(?<text>.*)$',
    placeholder: '^(Press up to edit queued messages|Resend your message to try again)?$',
    marksIdle: true,
    footerLines: 3,
  },
  // Footers as seen (the box's structure decides idle without them): 2.1.197 `? for shortcuts`,
  // after a multi-line paste `paste again to expand`; 2.1.332 `⏵⏵ auto mode on`, `⏸ manual mode on`.
  idle: ['\\? for shortcuts', 'paste again to expand', '⏵⏵ auto mode on', '⏸ manual mode on'],
  // `esc to interrupt` in the footer; and the running turn's spinner line above the box
  // (`✶ Drizzling… (2s · ↓ 6 tokens)`, `✽ Vibing…`; a finished turn's `✻ Churned for 1s` has no
  // `…`): 2.1.197 replaces its whole footer by `paste again to expand` for 8 s after a long
  // paste, mid-turn too, and the spinner is then the only busy marker on screen.
  busy: ['esc to interrupt', '^[·✢✳✶✻✽*] \\S+…(\\s|$)'],
  queued: ['Press up to edit queued messages'],
  // `❯ 1. Yes` (once; `2. Yes, and always allow …` and 2.1.332's `3. Yes, and switch to auto mode`
  // are never sent); deny is `Esc to cancel`, the same on the 3- and the 4-option prompt.
  answer: { allow: '1', deny: 'Escape', rejected: ['Interrupted · What should Claude do instead\\?', 'User rejected'] },
  errors: {
    rate_limit: ['API Error:.*\\b429\\b', 'API Error:.*[Rr]ate limit', 'usage limit reached', 'limit reached.*resets'],
    auth: ['Invalid API key', 'API Error:.*\\b401\\b', 'OAuth token (has )?expired', 'Please run /login'],
    api: ['API Error: (\\d{3}|Request|Connection|Overloaded)'],
  },
  turnStart: '^❯ \\S',
};

/** The screen rules shipped with mosaic-top. */
export const SHIPPED_SCREEN_RULES: ScreenRulesFile = {
  version: 1,
  runtimes: [
    // Claude Code after 2.1.197 (proven on 2.1.332): auto mode by default (`⏵⏵ auto mode on`),
    // `⏸ manual mode on · ? for shortcuts` with `--permission-mode default`; a 4-option
    // permission prompt with a ` Tip: auto mode handles…` line and the command between dashed
    // rules; a startup permission-mode dialog when settings ask for manual mode.
    {
      ...CLAUDE_COMMON,
      versions: '>=2.1.198',
      proven: '2.1.332',
      prompts: [
        CLAUDE_PERMISSION,
        {
          // `Make auto mode your default permission mode?` / `❯ Yes, set auto mode as my default permission mode` / `No, keep manual mode`.
          kind: 'dialog',
          anchor: '^\\s*(❯\\s*)?No, keep manual mode\\s*$',
          start: '^\\s*Make auto mode your default permission mode\\?',
          above: 8,
          below: 4,
          tool: 'permission mode',
          detail: '^\\s*(?<detail>Make auto mode your default permission mode\\?)',
        },
      ],
    },
    // Claude Code 2.x up to 2.1.197: `? for shortcuts`, after a multi-line paste `paste again to expand`.
    { ...CLAUDE_COMMON, versions: '>=2.0.0 <2.1.198', proven: '2.1.197', prompts: [CLAUDE_PERMISSION] },
    {
      runtime: 'codex',
      versions: '>=0.100.0',
      proven: '0.171.0',
      packages: ['@openai/codex'],
      inputBox: {
        prompt: '^› ?(?<text>.*)$',
        placeholder:
          '^(Ask Codex to do anything|Find and fix a bug in @filename|Explain this codebase|Summarize recent commits|Implement \\{feature\\}|Improve documentation in @filename|Write tests for @filename|Use /skills to list available skills|Run /review on my current changes)$',
      },
      bottomLines: 6,
      idle: ['^› ', '\\? for shortcuts'],
      busy: ['esc to interrupt\\)', '^\\s*[◦•] Working \\('],
      queued: ['Queued follow-up inputs'],
      prompts: [
        {
          kind: 'permission',
          anchor: '^\\s*Would you like to (run the following command|make the following edits|apply these changes)\\?',
          end: 'Press enter to confirm or esc to cancel',
          below: 20,
          tool: 'shell',
          detail: '^\\s*\\$ (?<detail>.+)$',
        },
      ],
      // `› 1. Yes, proceed (y)` (never `(p)`/`(a)`: don't ask again), `3. No, … (esc)`.
      answer: { allow: 'y', deny: 'Escape', rejected: ['You canceled the request to run', 'Conversation interrupted'] },
      errors: {
        rate_limit: ['^■ .*\\b429\\b', '^■ .*[Rr]ate limit', "^■ You've hit your usage limit"],
        auth: ['^■ .*\\b401\\b', '^■ .*Unauthorized'],
        api: ['^■ (unexpected status|exceeded retry limit|stream error|error sending request)'],
      },
      turnStart: '^› \\S',
      idleMayStream: true,
    },
    {
      runtime: 'pi',
      versions: '>=0.60.0',
      proven: '0.73.1',
      packages: ['@mariozechner/pi-coding-agent'],
      inputBox: { border: RULE_LINE, prompt: '^(?<text>.*)$' },
      // The footer under the editor: `0.0%/128k (auto)`, after turns `↑12 ↓4 0.0%/128k (auto)`.
      idle: ['\\d+(\\.\\d+)?%/\\d+k?\\b'],
      busy: ['Working\\.\\.\\.'],
      queued: ['^\\s*Steering: ', 'Alt\\+Up to edit all queued messages'],
      errors: {
        rate_limit: ['^\\s*Error: .*\\b429\\b', '[Rr]ate limit'],
        auth: ['^\\s*Error: .*\\b401\\b', '[Ii]nvalid API key'],
        api: ['^\\s*Error: (\\d{3}\\b|Retry failed)'],
      },
      // pi marks no turn start in plain text: only an error that is the transcript's last line counts.
      errorLines: 1,
    },
    {
      runtime: 'opencode',
      versions: '>=1.0.0',
      proven: '1.18.33',
      packages: ['opencode-ai', 'opencode'],
      bottomLines: 3,
      idle: ['ctrl\\+p commands'],
      busy: ['esc interrupt'],
      queued: [' QUEUED\\b'],
      prompts: [
        {
          kind: 'permission',
          anchor: 'Permission required',
          start: 'Permission required',
          above: 1,
          end: 'Allow once\\s+Allow always\\s+Reject',
          below: 16,
          tool: 'bash',
          detail: '^\\s*[┃│]?\\s*\\$ (?<detail>.+?)\\s*[┃│]?\\s*$',
        },
      ],
      errors: {
        rate_limit: ['\\b429\\b', '[Rr]ate limit', 'Too Many Requests'],
        auth: ['\\b401\\b', '[Uu]nauthorized', '[Ii]nvalid (x-)?api.?key'],
        api: ['\\b(500|502|503|529)\\b.*[Ee]rror', '[Ii]nternal server error'],
      },
      retrying: ['\\[retrying (in \\d+s )?attempt #\\d+\\]'],
      errorLines: 6,
    },
  ],
};
