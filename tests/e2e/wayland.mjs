// Copying a token on a Wayland desktop (run it through tests/e2e/wayland.sh, which starts a
// headless sway without Xwayland and a private D-Bus session with an unlocked keyring).
//
// The `keyfob` command links an account at the local OpenID provider (the test's Chromium
// signs in, as in run.mjs). Then Keyfob's real window, a native Wayland client under
// WebKitWebDriver, copies its token with the Copy button, and the test reads the Wayland
// clipboard the way another application does (wl-paste): the token is there (the one the
// keyring holds, active at the provider), marked for clipboard managers, cleared after the
// delay; copied again and then replaced by the user's own text, it is left alone. Screenshots
// (grim) go to tests/artifacts/e2e/wayland-*.png. The token is never printed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appPids, keyringItems, keyringService } from './lib/desktop.mjs';
import { startIdp } from './lib/idp.mjs';
import { IpcLog } from './lib/ipc.mjs';
import { artifacts, binary, cli, root } from './lib/paths.mjs';
import { newSession, startDriver, until } from './lib/webdriver.mjs';

const CLIPBOARD_CLEAR_SECONDS = 3;
/** What the "user" copies over a token. */
const USER_TEXT = 'the user copied this on Wayland';
const EMAIL = 'alice@example.test';

const cleanups = [];
/** The WebDriver session of Keyfob's window, once it is open. */
let appWindow = null;
const started = Date.now();
const say = (text) => console.log(`wayland: ${text}`);
function check(ok, message) {
  if (!ok) throw new Error(`check failed: ${message}`);
}

/** The Wayland clipboard's text, or '' when it holds none (wl-paste, as any other app reads it). */
function readClipboard() {
  const r = spawnSync('wl-paste', ['--no-newline'], { timeout: 5000 });
  return r.status === 0 ? r.stdout.toString() : '';
}
/** The types the clipboard's owner offers, and the password-manager hint's value if offered. */
function clipboardTypes() {
  const r = spawnSync('wl-paste', ['--list-types'], { timeout: 5000 });
  const types = r.status === 0 ? r.stdout.toString().split('\n').filter(Boolean) : [];
  const hint = types.includes('x-kde-passwordManagerHint')
    ? spawnSync('wl-paste', ['--no-newline', '--type', 'x-kde-passwordManagerHint'], { timeout: 5000 }).stdout.toString()
    : null;
  return { types, hint };
}
/** Puts `text` on the clipboard as another application would (wl-copy keeps serving it). */
function writeClipboard(text) {
  const r = spawnSync('wl-copy', [], { input: text, stdio: ['pipe', 'ignore', 'ignore'], timeout: 5000 });
  if (r.status !== 0) throw new Error('wl-copy could not set the clipboard');
}
/** A screenshot of the whole (headless) output, as the compositor shows it. */
async function shot(name) {
  await appWindow?.settle(); // the window paints the last change first
  const r = spawnSync('grim', [join(artifacts, `wayland-${name}.png`)], { timeout: 10000 });
  if (r.status !== 0) throw new Error(`grim failed: ${r.stderr}`);
}
/** sway's windows: [{ pid, shell, app_id }] (shell is xdg_shell for a native Wayland client). */
function swayWindows() {
  const r = spawnSync('swaymsg', ['-t', 'get_tree', '--raw'], { timeout: 5000 });
  if (r.status !== 0) throw new Error(`swaymsg failed: ${r.stderr}`);
  const windows = [];
  const walk = (node) => {
    if (node.pid) windows.push({ pid: node.pid, shell: node.shell, app_id: node.app_id });
    [...(node.nodes ?? []), ...(node.floating_nodes ?? [])].forEach(walk);
  };
  walk(JSON.parse(r.stdout));
  return windows;
}

async function main() {
  for (const [what, ok] of [
    ['the app binary (cargo build -p keyfob-app)', existsSync(binary)],
    ['the keyfob command (cargo build -p keyfob-cli)', existsSync(cli)],
    ['a Wayland display (run through tests/e2e/wayland.sh)', !!process.env.WAYLAND_DISPLAY && !!process.env.SWAYSOCK],
    ['no X display: X11 must be out of reach (run through tests/e2e/wayland.sh)', !process.env.DISPLAY],
    ['GDK_BACKEND=wayland (run through tests/e2e/wayland.sh)', process.env.GDK_BACKEND === 'wayland'],
    ['a D-Bus session (run through tests/e2e/wayland.sh)', !!process.env.DBUS_SESSION_BUS_ADDRESS],
  ]) {
    if (!ok) throw new Error(`missing ${what}`);
  }
  mkdirSync(artifacts, { recursive: true });
  for (const old of readdirSync(artifacts).filter((f) => f.startsWith('wayland-'))) rmSync(join(artifacts, old));

  say('starting the local OpenID provider');
  const idp = await startIdp(join(root, 'tests/idp/server.mjs'));
  cleanups.push(() => idp.stop());
  const work = mkdtempSync(join(tmpdir(), 'keyfob-wayland-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const home = join(work, 'profile');
  cleanups.push(() => appPids(binary, home).forEach((pid) => process.kill(pid, 'SIGTERM')));
  const env = {
    ...process.env,
    KEYFOB_HOME: home,
    KEYFOB_CLIPBOARD_CLEAR_SECONDS: String(CLIPBOARD_CLEAR_SECONDS),
    // The keyfob command opens the test's browser, which signs in with a real Chromium.
    BROWSER: join(root, 'tests/e2e/browser.mjs'),
    E2E_BROWSER_LOG: join(work, 'browser.log'),
  };

  say('linking an account with the keyfob command');
  const keyfob = (args) => {
    const r = spawnSync(cli, args, { env, encoding: 'utf8', timeout: 90000 });
    check(r.status === 0, `keyfob ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  keyfob(['provider', 'add', 'local', '--name', 'Local IdP', '--issuer', idp.issuer, '--client-id', 'keyfob-native', '--scopes', 'openid email profile offline_access']);
  keyfob(['link', 'local']);

  say('opening the window on sway under WebKitWebDriver');
  const driver = await startDriver(env);
  cleanups.push(() => driver.stop());
  const s = await newSession(driver, binary);
  appWindow = s;
  cleanups.push(() => s.close());
  const ipc = new IpcLog();
  check((await ipc.install(s)) === 'installed', 'the IPC recorder is installed');
  const row = await s.waitFor('.account-row', { what: 'the linked account' });
  const accountId = await row.attr('data-account-id');
  const name = await s.script("return document.querySelector('.account-row .account-name').textContent");
  check(name === EMAIL, `the window lists the account the command linked (${name})`);

  // The window is sway's own client, not an X11 one: its surface is an xdg_shell toplevel.
  const pids = appPids(binary, home);
  const windows = await until(async () => {
    const found = swayWindows().filter((w) => pids.includes(w.pid));
    return found.length ? found : null;
  }, 10000, "Keyfob's window in sway's tree");
  check(windows.every((w) => w.shell === 'xdg_shell'), `Keyfob's window is a native Wayland client (${JSON.stringify(windows)})`);

  /** Waits for the Copy button's confirmation; an error notice instead fails with its text. */
  const copied = async () => {
    const outcome = await until(async () => {
      const error = await s.script("return document.querySelector('.toast-error')?.textContent ?? null");
      if (error) return { error };
      return (await (await s.find(`[data-key="copy-${accountId}"]`)).text()).includes('Copied') && { copied: true };
    }, 5000, 'the Copied confirmation');
    check(!outcome.error, `the window copied the token (it says: ${outcome.error})`);
  };
  /** Waits for the shell's `count`-th clipboard-expired event (the clear timer ran) and returns its payload. */
  const clipboardExpired = async (count) => {
    const seen = async () => {
      await ipc.drain(s);
      return ipc.events().filter((e) => e.event === 'clipboard-expired')[count - 1];
    };
    return (await until(seen, (CLIPBOARD_CLEAR_SECONDS + 10) * 1000, `clipboard timer #${count}`)).payload;
  };
  const storedToken = () => keyringItems(keyringService(home)).find((i) => i.username === `account/${accountId}/access_token`)?.secret;

  say('copying the token with the Copy button');
  const clickedAt = Date.now();
  await s.click(`[data-key="copy-${accountId}"]`);
  await copied();
  const token = await until(async () => readClipboard() || null, 5000, 'the token on the Wayland clipboard');
  check(token === storedToken(), 'the clipboard holds the account’s access token (the one in the keyring)');
  const introspection = await idp.introspect(token);
  check(introspection.active === true && introspection.client_id === 'keyfob-native', 'the provider says the copied token is active');
  const offered = clipboardTypes();
  check(offered.hint === 'secret', `the copy carries the password-manager hint (${JSON.stringify(offered)})`);
  check(!(await s.script('return document.documentElement.outerHTML')).includes(token), 'the token never reached the webview');
  await shot('token-copied');

  say(`waiting for the clipboard to be cleared (${CLIPBOARD_CLEAR_SECONDS} s)`);
  await until(async () => readClipboard() !== token, (CLIPBOARD_CLEAR_SECONDS + 5) * 1000, 'the token to leave the clipboard');
  const clearedAfter = (Date.now() - clickedAt) / 1000;
  check(
    clearedAfter >= CLIPBOARD_CLEAR_SECONDS && clearedAfter < CLIPBOARD_CLEAR_SECONDS + 3,
    `the token left the clipboard on time (${clearedAfter.toFixed(1)} s after Copy, delay ${CLIPBOARD_CLEAR_SECONDS} s)`,
  );
  check(readClipboard() === '', 'the clipboard is empty');
  const first = await clipboardExpired(1);
  check(first.cleared === true, `the clear timer cleared the token (${JSON.stringify(first)})`);

  say('copying again, then the user copies something else: Keyfob leaves that alone');
  await s.click(`[data-key="copy-${accountId}"]`);
  await copied();
  await until(async () => readClipboard() === token, 5000, 'the token on the clipboard again');
  writeClipboard(USER_TEXT);
  const second = await clipboardExpired(2);
  check(second.cleared === false, `the clear timer left the user's text alone (${JSON.stringify(second)})`);
  check(readClipboard() === USER_TEXT, 'the clipboard still holds what the user copied');
  await shot('user-text-kept');
  say(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s (screenshots: tests/artifacts/e2e/wayland-*.png)`);
}

try {
  await main();
} catch (e) {
  console.error(`wayland: FAILED: ${e.message}`);
  try {
    await shot('failure');
  } catch {
    /* no compositor to take it from */
  }
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      /* best effort */
    }
  }
}
