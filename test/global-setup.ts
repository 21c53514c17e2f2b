/** Vitest global setup: shared, expensive fixtures for the whole run (owner: backlog adds PostgreSQL). */
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
