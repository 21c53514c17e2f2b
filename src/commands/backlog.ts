import type { Command } from 'commander';

/** `mosaic-top backlog <verb>` (spec §7). Owner: backlog. */
export function registerBacklogCommand(program: Command): void {
  void program;
}
