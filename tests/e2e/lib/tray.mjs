// The desktop around Keyfob's tray: a StatusNotifierWatcher and a notification server on the
// test's private D-Bus session (desktop_bus.py, real D-Bus services), readers of the tray
// item and its dbusmenu, the window manager's close button (close_window.py), the
// accessibility bus's view of a window (a11y.py), and the processes and memory of a running
// Keyfob.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BUS_SCRIPT = join(here, '..', 'desktop_bus.py');
const CLOSE_SCRIPT = join(here, '..', 'close_window.py');
const A11Y_SCRIPT = join(here, '..', 'a11y.py');
// Debian's Python, which has the GObject bindings (python3-gi), whatever python3 is first on PATH.
const PYTHON = '/usr/bin/python3';

/** Starts the tray host and the notification server; resolves once both names are owned. */
export async function startDesktopBus(log) {
  const child = spawn(PYTHON, [BUS_SCRIPT, 'serve', log], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const events = () =>
    existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  for (let i = 0; i < 100; i++) {
    if (events().filter((e) => e.event === 'name-owned').length === 2) {
      return { events, stop: () => child.kill('SIGTERM') };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGTERM');
  throw new Error(`the desktop bus services did not start: ${stderr}`);
}

function bus(args) {
  const r = spawnSync(PYTHON, [BUS_SCRIPT, ...args], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`desktop_bus.py ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Whether a unique bus name is still connected. */
function connected(name) {
  const r = spawnSync('gdbus', [
    'call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus',
    '--method', 'org.freedesktop.DBus.NameHasOwner', name,
  ], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && r.stdout.includes('true');
}

/** The tray items registered with the watcher whose owners are still on the bus. */
export function liveTrayItems(busEvents) {
  return busEvents.filter((e) => e.event === 'item-registered' && connected(e.bus));
}

/** The StatusNotifierItem's properties (Id, Title, Status, IconName, Menu, ...). */
export function trayItemProperties(item) {
  return bus(['item', item.bus, item.path]);
}

/** The tray menu as a flat list of { id, label, enabled, depth, parent }. */
export function trayMenu(item) {
  const { Menu } = trayItemProperties(item);
  const { layout } = bus(['menu', item.bus, Menu]);
  const flat = [];
  const walk = (node, depth, parent) => {
    for (const child of node.children) {
      flat.push({ id: child.id, label: child.label, enabled: child.enabled, type: child.type, depth, parent });
      walk(child, depth + 1, child.label);
    }
  };
  walk(layout, 0, null);
  return flat;
}

/** Clicks the menu entry labelled `label` (under the entry labelled `parent`, if given). */
export function clickTrayEntry(item, label, parent) {
  const { Menu } = trayItemProperties(item);
  const entry = trayMenu(item).find((e) => e.label === label && (parent === undefined || e.parent === parent));
  if (!entry) throw new Error(`no tray menu entry ${JSON.stringify(label)} under ${JSON.stringify(parent)}`);
  bus(['click', item.bus, Menu, String(entry.id)]);
}

/** Makes the notification server report a click on notification `id` (action `default`). */
export function clickNotification(id) {
  const r = spawnSync('gdbus', [
    'call', '--session', '--dest', 'org.freedesktop.Notifications', '--object-path', '/org/freedesktop/Notifications',
    '--method', 'dev.keyfob.Test.Invoke', String(id), 'default',
  ], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`cannot click notification ${id}: ${r.stderr}`);
}

/** Presses the close button of process `pid`'s window titled `title`; returns how many closed. */
export function closeWindow(pid, title = 'Keyfob') {
  const r = spawnSync(PYTHON, [CLOSE_SCRIPT, String(pid), title], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`close_window.py failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** What process `pid`'s windows show, read over the accessibility bus: [[role, name], ...]. */
export function accessibleNames(pid) {
  const r = spawnSync(PYTHON, [A11Y_SCRIPT, String(pid)], { encoding: 'utf8', timeout: 15000 });
  if (r.status !== 0) throw new Error(`a11y.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The processes `pid` started (WebKit's web and network processes), with their names. */
export function childProcesses(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(entry), name: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The proportional set size of `pids` together, in MB (shared pages counted once). */
export function pssMb(pids) {
  let kb = 0;
  for (const pid of pids) {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    kb += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)[1]);
  }
  return kb / 1024;
}
