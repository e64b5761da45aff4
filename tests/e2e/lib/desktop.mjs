// The bits of a desktop session the test needs: a default web browser registered the way
// desktops do it (a .desktop file plus mimeapps.list), and the X clipboard.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes `script` the default handler of http(s) URLs in this (private) XDG session. */
export function registerBrowser(script) {
  const dataHome = process.env.XDG_DATA_HOME;
  if (!dataHome || !process.env.XDG_CONFIG_HOME) {
    throw new Error('XDG_DATA_HOME/XDG_CONFIG_HOME are not set: run under scripts/with-keyring.sh');
  }
  const apps = join(dataHome, 'applications');
  mkdirSync(apps, { recursive: true });
  const name = 'keyfob-e2e-browser.desktop';
  writeFileSync(
    join(apps, name),
    [
      '[Desktop Entry]',
      'Type=Application',
      'Name=Keyfob test browser (Chromium)',
      `Exec=${script} %u`,
      // text/html too: a local page opened by path (the opener plugin's open_path) lands here
      // as well, so the test sees it if anything opens one.
      'MimeType=x-scheme-handler/http;x-scheme-handler/https;text/html;',
      'NoDisplay=true',
      '',
    ].join('\n'),
  );
  execFileSync('xdg-mime', ['default', name, 'x-scheme-handler/http', 'x-scheme-handler/https', 'text/html']);
  const now = execFileSync('xdg-mime', ['query', 'default', 'x-scheme-handler/https']).toString().trim();
  if (now !== name) throw new Error(`xdg-mime still names ${now} as the web browser`);
}

/** Whether a Keyfob instance owns the single-instance name on this session bus. */
export function keyfobRunning() {
  const r = spawnSync('gdbus', [
    'call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus',
    '--method', 'org.freedesktop.DBus.NameHasOwner', 'dev.keyfob.app.SingleInstance',
  ], { timeout: 5000 });
  if (r.status !== 0) throw new Error(`gdbus failed: ${r.stderr}`);
  return r.stdout.toString().includes('true');
}

/** Pids of `binary` processes running with KEYFOB_HOME=`home` (this test's profile only). */
export function appPids(binary, home) {
  const wanted = `KEYFOB_HOME=${home}`;
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== binary) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(wanted)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/** Puts `text` on the clipboard, as another application would (xclip keeps serving it). */
export function writeClipboard(text) {
  const r = spawnSync('xclip', ['-selection', 'clipboard', '-i'], {
    input: text,
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: 5000,
  });
  if (r.status !== 0) throw new Error('xclip could not set the clipboard');
}

/** The clipboard's text, or '' when it holds none. */
export function readClipboard() {
  const r = spawnSync('xclip', ['-selection', 'clipboard', '-o'], { timeout: 5000 });
  return r.status === 0 ? r.stdout.toString() : '';
}

/** The clipboard's targets (the formats its owner offers), with the KDE password-manager hint's value if offered. */
export function clipboardTargets() {
  const r = spawnSync('xclip', ['-selection', 'clipboard', '-t', 'TARGETS', '-o'], { timeout: 5000 });
  const targets = r.status === 0 ? r.stdout.toString().split('\n').filter(Boolean) : [];
  const hint = targets.includes('x-kde-passwordManagerHint')
    ? spawnSync('xclip', ['-selection', 'clipboard', '-t', 'x-kde-passwordManagerHint', '-o'], { timeout: 5000 }).stdout.toString()
    : null;
  return { targets, hint };
}

/** The keyring service of the Keyfob profile at `home` (keyfob-core's `Paths::under`). */
export function keyringService(home) {
  const tag = createHash('sha256').update(realpathSync(home)).digest('hex').slice(0, 12);
  return `dev.keyfob.app.profile-${tag}`;
}

/** Every item the keyring holds for `service`: [{ username, secret }] (Secret Service). */
export function keyringItems(service) {
  // secret-tool prints each item's path, label and secret on stdout and its attributes on
  // stderr, both in the same item order: pair them up by position. The running app (its
  // keeper refreshes in the background) may replace an item between secret-tool's search
  // and its read of that item's secret, which leaves one secret out: read again then.
  const lines = (out) => out.toString().split('\n');
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = spawnSync('secret-tool', ['search', '--all', '--unlock', 'service', service], { timeout: 10000 });
    const secrets = lines(r.stdout).filter((l) => l.startsWith('secret = ')).map((l) => l.slice('secret = '.length));
    const users = lines(r.stderr).filter((l) => l.startsWith('attribute.username = ')).map((l) => l.slice('attribute.username = '.length));
    if (secrets.length === users.length) return users.map((username, i) => ({ username, secret: secrets[i] }));
    last = `secret-tool listed ${secrets.length} secrets for ${users.length} items`;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  throw new Error(`${last}, ten times in a row`);
}
