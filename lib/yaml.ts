/**
 * THE lazy loader of the `yaml` library: loaded on first use (synchronously, through its
 * CommonJS build), because importing it costs ~50 ms that `--once` skips when nothing needs a
 * YAML parse (a cached roster, no profile, no screen-rule override). Ground floor.
 */
import { createRequire } from 'node:module';

/** The `yaml` module's type. */
export type YamlModule = typeof import('yaml');

let yamlModule: YamlModule | null = null;

/** The `yaml` library, loaded on the first call and kept. Throws only when the package is missing (a broken install). */
export function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}
