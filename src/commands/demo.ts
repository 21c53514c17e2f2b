import type { Command } from 'commander';

/** `mosaic-top demo [up|down]` (spec §11). Owner: fleet. */
export function registerDemoCommand(program: Command): void {
  void program;
}
