/**
 * Whether the spend meter runs: on unless `MOSAIC_TOP_SPEND` is `off` (also `0`, `false`,
 * `no`) — the bench compares a tick with and without it. Dependency-free so the modes can ask
 * before importing the meter.
 */
export function spendMeterWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(0|off|false|no)$/i.test(env.MOSAIC_TOP_SPEND ?? '');
}
