/**
 * The Claude Code cells the real-runtime tests run, across the two version sets of
 * test/runtimes/runtimes.json: the pinned version (2.1.197: one permission mode), and the newest
 * (2.1.332) in AUTO mode (its default: low-risk tool calls run unasked, so no permission prompt
 * opens for the tests' commands) and in MANUAL mode (`--permission-mode default`: the 4-option
 * permission prompt). With `MOSAIC_TEST_RUNTIME_SET=latest` (npm run runtimes:latest) only the
 * selected set's version runs. CI time: a test picks the variants whose cells differ, not all.
 */
import semver from 'semver';
import { runtimePins, runtimeVersions, selectedRuntimeSet } from './install.js';

/** A permission mode of Claude Code: `default` (releases without modes), `auto`, `manual`. */
export type ClaudeMode = 'default' | 'auto' | 'manual';

/** One Claude Code cell: version, permission mode, the argv that selects it, a label for test names. */
export interface ClaudeVariant {
  version: string;
  mode: ClaudeMode;
  /** Extra argv for `launchRuntime` (`--permission-mode default` for manual). */
  args: string[];
  /** `2.1.332 auto mode`. */
  label: string;
  /** True when this version opens a permission prompt for the tests' shell commands (not auto mode). */
  prompts: boolean;
}

/** First Claude Code version with permission modes in its footer (auto by default): the newest rules' range start. */
const MODES_SINCE = '2.1.198';

/** The variants of one version: one for an old release, auto and manual for a release with modes. */
function variantsOf(version: string): ClaudeVariant[] {
  if (semver.lt(version, MODES_SINCE)) return [{ version, mode: 'default', args: [], label: version, prompts: true }];
  return [
    { version, mode: 'auto', args: [], label: `${version} auto mode`, prompts: false },
    { version, mode: 'manual', args: ['--permission-mode', 'default'], label: `${version} manual mode`, prompts: true },
  ];
}

/**
 * Every Claude Code variant to run: both sets' versions (pinned first), each in its modes; under
 * `MOSAIC_TEST_RUNTIME_SET=latest`, only the latest set's. `only` filters by mode.
 */
export function claudeVariants(only?: readonly ClaudeMode[]): ClaudeVariant[] {
  const versions = selectedRuntimeSet() === 'latest' ? [runtimePins('latest').claude.version] : runtimeVersions('claude');
  return versions.flatMap(variantsOf).filter((v) => !only || only.includes(v.mode));
}
