/**
 * Import rules (dependency-cruiser), run by `npm run lint`. The floors, bottom up: lib/ (the
 * ground floor, imports nothing of ours) → fleet/ and backlog/ (the outside world and the
 * backlog core) → src/ (the program) → hooks/ → components/ (rendering). A floor never imports
 * one above it; components only render (no fs, no subprocesses). docs/architecture.md.
 */

/**
 * The rooms of src/, bottom up, each with the rooms it may import (nothing else of src/). A
 * room is a folder (`src/<room>/`) or a file (`src/<room>.ts`). The order is a DAG, so no two
 * rooms can circle; the composition root (cli, commands, modes) sits on top and nothing below
 * imports it. docs/architecture.md draws it.
 */
const ROOMS = {
  options: [],
  snapshot: [],
  transitions: ['snapshot'],
  store: ['snapshot', 'transitions'],
  actions: ['snapshot'],
  poller: ['snapshot', 'store'],
  view: ['snapshot', 'transitions', 'store', 'actions'],
  keys: ['snapshot', 'store', 'view', 'actions', 'poller'],
  ink: [],
  demo: [],
  serve: ['snapshot', 'transitions', 'store', 'actions', 'poller'],
  modes: ['options', 'snapshot', 'transitions', 'store', 'actions', 'poller', 'view', 'keys', 'ink', 'demo'],
  commands: ['options', 'snapshot', 'transitions', 'store', 'actions', 'poller', 'view', 'keys', 'ink', 'demo', 'modes', 'serve'],
  cli: ['options', 'commands', 'modes'],
};

const roomPath = (room) => `^src/${room}(/|\\.tsx?$)`;

/** One rule per room: what it may import inside src/ (every other room is forbidden). */
const roomRules = Object.entries(ROOMS).map(([room, allowed]) => ({
  name: `src-room-${room}`,
  comment: `src/${room} may import, inside src/, only: ${allowed.length ? allowed.join(', ') : 'nothing'} (the rooms of src/, bottom up).`,
  severity: 'error',
  from: { path: roomPath(room) },
  to: { path: '^src/', pathNot: [room, ...allowed].map(roomPath) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...roomRules,
    {
      name: 'src-rooms-are-known',
      comment: 'Every file of src/ belongs to a room of ROOMS (a new folder gets its rule first).',
      severity: 'error',
      from: { path: '^src/', pathNot: Object.keys(ROOMS).map(roomPath) },
      to: {},
    },
    {
      name: 'lib-imports-nothing-of-ours',
      comment: 'lib/ is the ground floor: it imports only Node and npm packages.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(fleet|backlog|src|hooks|components|test)/' },
    },
    {
      name: 'floors-never-import-upward',
      comment:
        'fleet/ and backlog/ (and lib/) never import the program, its hooks or its components; the program hands them what they need (e.g. a pause reader) as a parameter.',
      severity: 'error',
      from: { path: '^(lib|fleet|backlog)/' },
      to: { path: '^(src|hooks|components|test)/' },
    },
    {
      name: 'program-never-imports-react-glue',
      comment: 'src/ is the program: hooks/ and components/ read it, never the other way round — except the console mode, which mounts the view.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/modes/console\\.ts$' },
      to: { path: '^(hooks|components)/' },
    },
    {
      name: 'serve-stays-in-its-room',
      comment:
        'src/serve/ (the HTTP server) never loads the terminal view: no hooks, components, ink or react (its room in ROOMS already keeps it off src/ink, keys, view and modes).',
      severity: 'error',
      from: { path: '^src/serve/' },
      to: { path: '^(hooks|components)/|^(ink|react)$|node_modules/(ink|react)/' },
    },
    {
      name: 'only-the-serve-command-imports-serve',
      comment: 'The server is loaded by `mosaic-top serve` alone: nothing else of the program pays for Hono.',
      severity: 'error',
      from: { path: '^(lib|fleet|backlog|src|hooks|components)/', pathNot: '^(src/serve/|src/commands/serve\\.ts$)' },
      to: { path: '^src/serve/' },
    },
    {
      name: 'components-only-render',
      comment: 'components/ and hooks/ render and route input: no file system, no subprocesses.',
      severity: 'error',
      from: { path: '^(components|hooks)/' },
      to: { path: '^(node:)?(fs|child_process)$|^execa$|node_modules/execa/', pathNot: '^src/' },
    },
    {
      name: 'no-circular',
      comment: 'No import circles, type-only ones included (the store state types live in src/store/state.ts for that).',
      severity: 'error',
      from: { path: '^(lib|fleet|backlog|src|hooks|components)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
