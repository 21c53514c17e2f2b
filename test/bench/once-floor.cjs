// The floor of a one-shot snapshot on this machine (bench:scale, docs/performance.md): a program
// that does only what `--once --json` must do to see the fleet — the same subprocesses with the
// same arguments (one `tmux list-panes -a` per socket, one `systemctl --user show` of every
// unit), the same reads (the roster, the run dir's listing and every beat, the agents dir's
// listing, every process's /proc/<pid>/stat, each pane process's cmdline) and one JSON document
// of what it read on stdout — with as little JavaScript as can do it: CommonJS (no ES loader),
// no parsing beyond splitting lines, no readiness, no join. What `--once` costs beyond this
// program is ours; what this program costs is node, the kernel and the subprocesses.
//
// `node test/bench/once-floor.cjs PLAN.json`, PLAN: { roster, runDir, agentsDir, sockets: [name],
// listPanesArgs: [tmux args after the socket], separator: the format's field separator,
// pidField: the index of pane_pid in it, systemctlArgs: [systemctl args] }.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

/** stdout of `command args` (stdin closed), '' when it fails. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.resume();
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(out));
  });
}

/** A file's text, or null when it cannot be read. */
function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** A directory's entry names, or [] when it cannot be listed. */
function list(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

const panes = Promise.all(plan.sockets.map((socket) => run('tmux', ['-u', '-L', socket, ...plan.listPanesArgs])));
const units = run('systemctl', plan.systemctlArgs);
const roster = read(plan.roster);
const beats = {};
for (const name of list(plan.runDir)) if (name.endsWith('.hb')) beats[name] = read(`${plan.runDir}/${name}`);
const envFiles = list(plan.agentsDir).filter((name) => name.endsWith('.env'));

void panes.then(async (outputs) => {
  const paneRows = outputs.flatMap((text) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(plan.separator)),
  );
  const stats = {};
  for (const pid of list('/proc')) if (pid.charCodeAt(0) <= 0x39) stats[pid] = read(`/proc/${pid}/stat`);
  const cmdlines = {};
  for (const row of paneRows) {
    const pid = row[plan.pidField];
    if (pid && stats[pid]) cmdlines[pid] = read(`/proc/${pid}/cmdline`);
  }
  const systemd = await units;
  const document = { rosterBytes: roster?.length ?? 0, beats, envFiles, panes: paneRows, processes: Object.keys(stats).length, cmdlines, systemd };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
});
