// End-to-end test of Keyfob's real window (run it through tests/e2e/run.sh, which provides a
// private D-Bus session with an unlocked keyring and an X display).
//
// The built app runs under WebKitWebDriver. A real Chromium, registered as the session's web
// browser, signs in at the local OpenID provider and hands the redirect back to the app the
// way the OS does. The test drives the UI like a user: adds the provider, links an account,
// copies a token (checked at the provider), sees a forged callback refused, and unlinks.
// Then it sets up the GitHub preset from the link dialog (against the local GitHub stand-in as
// a GitHub Enterprise Server), links octocat through the loopback redirect and unlinks.
// It turns on linking with a code for the provider and links with a code (Chromium enters it
// on the provider's code page and approves; a denied code stores nothing). It also refreshes
// from the row, tries the Google preset (which only knows Google's own
// issuer), removes a provider, and links, copies and unlinks with the keyboard alone. Every
// IPC call and event of the page is recorded (lib/ipc.mjs) and checked against every token,
// code, state, verifier and callback URL the test saw: none may cross into the webview.
// Screenshots of each state go to tests/artifacts/e2e/.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appPids,
  clipboardTargets,
  keyfobRunning,
  keyringItems,
  keyringService,
  readClipboard,
  registerBrowser,
  writeClipboard,
} from './lib/desktop.mjs';
import { startGithub } from './lib/github.mjs';
import { startIdp } from './lib/idp.mjs';
import { IpcLog } from './lib/ipc.mjs';
import { artifacts, binary, cli, root } from './lib/paths.mjs';
import {
  accessibleNames,
  childProcesses,
  clickNotification,
  clickTrayEntry,
  closeWindow,
  liveTrayItems,
  pssMb,
  startDesktopBus,
  trayItemProperties,
  trayMenu,
} from './lib/tray.mjs';
import { newSession, sleep, startDriver, until } from './lib/webdriver.mjs';

const CLIPBOARD_CLEAR_SECONDS = 6;
/** What the "user" copies over a token. */
const USER_TEXT = 'the user copied this';
const LOGIN = 'alice';
// The local provider derives the email from the login name.
const EMAIL = 'alice@example.test';
// The GitHub stand-in's OAuth App (tests/github/server.mjs) and the callback the setup form
// shows for a GitHub Enterprise Server provider.
const GITHUB_CLIENT_ID = 'Iv-oauth-app';
const GITHUB_CLIENT_SECRET = 'oauth-app-secret';
const GITHUB_CALLBACK = 'http://127.0.0.1/oauth/github-enterprise';
// The Google preset's "Desktop app" client of the local provider's Google mode.
const GOOGLE_CLIENT_ID = 'google-desktop.apps.googleusercontent.test';
const GOOGLE_CLIENT_SECRET = 'google-desktop-secret';

const cleanups = [];
let currentStep = 'start';
/** Each finished step's name and how long it took, printed at the end. */
const timings = [];
let failureShot = null;
/** Kept in the artifacts when the test fails (the work directory is deleted). */
let failureLog = null;
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const say = (text) => {
  currentStep = text;
  console.log(`e2e: ${text}`);
};
/** Runs one named step of the scenario; a failure names the step it happened in. */
async function step(name, body) {
  say(name);
  const started = Date.now();
  await body();
  timings.push([name, Date.now() - started]);
}
function check(ok, message) {
  if (!ok) throw new Error(`check failed: ${message}`);
}

async function main() {
  for (const [what, ok] of [
    ['the app binary (cargo build -p keyfob-app)', existsSync(binary)],
    ['the keyfob command (cargo build -p keyfob-cli)', existsSync(cli)],
    ['an X display (run through tests/e2e/run.sh)', !!process.env.DISPLAY],
    ['a D-Bus session (run through tests/e2e/run.sh)', !!process.env.DBUS_SESSION_BUS_ADDRESS],
  ]) {
    if (!ok) throw new Error(`missing ${what}`);
  }
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });

  say('starting the local OpenID provider');
  const idp = await startIdp(join(root, 'tests/idp/server.mjs'));
  cleanups.push(() => idp.stop());

  const work = mkdtempSync(join(tmpdir(), 'keyfob-e2e-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const home = join(work, 'profile');
  // Whatever happens, no Keyfob of this run outlives it.
  cleanups.push(() => appPids(binary, home).forEach((pid) => process.kill(pid, 'SIGTERM')));
  // The tray host and the notification server, before any Keyfob starts: its tray icon
  // registers with the watcher it finds, and its notifications go to this server.
  const desktop = await startDesktopBus(join(work, 'desktop-bus.jsonl'));
  cleanups.push(() => desktop.stop());
  /** The tray item of the running Keyfob (the last one registered whose owner is connected). */
  const trayItem = () => until(async () => liveTrayItems(desktop.events()).at(-1), 15000, "Keyfob's tray icon to register");
  const notifications = () => desktop.events().filter((e) => e.event === 'notify');
  const browserLog = join(work, 'browser.log');
  failureLog = () => existsSync(browserLog) && copyFileSync(browserLog, join(artifacts, 'failure-browser.log'));
  const gate = join(work, 'gate');
  const plan = join(work, 'browser-plan.json');
  const browserSecrets = join(work, 'browser-secrets.jsonl');
  registerBrowser(join(root, 'tests/e2e/browser.mjs'));

  const env = {
    ...process.env,
    KEYFOB_HOME: home,
    KEYFOB_CLIPBOARD_CLEAR_SECONDS: String(CLIPBOARD_CLEAR_SECONDS),
    E2E_APP_BINARY: binary,
    E2E_BROWSER_LOG: browserLog,
    E2E_BROWSER_GATE: gate,
    E2E_LOGIN: LOGIN,
    E2E_BROWSER_PLAN: plan,
    E2E_BROWSER_SECRETS: browserSecrets,
  };
  const accountsFile = join(home, 'data/accounts.json');
  const browserEvents = () =>
    existsSync(browserLog)
      ? readFileSync(browserLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      : [];

  /**
   * Checks the browser's argv of each `opened` event: one argument, Keyfob's one-time start
   * address (or the provider's code page), and nothing of the authorization request (any
   * local user can read a command line).
   */
  const checkArgv = (events, what) => {
    const opened = events.filter((e) => e.event === 'opened');
    check(opened.length > 0, `the browser was started ${what}`);
    // Linking with a code opens the provider's code page: its bare address (the code is typed).
    const codePage = `${idp.issuer}/device`;
    for (const { argv } of opened) {
      const line = JSON.stringify(argv);
      if (Array.isArray(argv) && argv.length === 1 && argv[0] === codePage) continue;
      check(
        Array.isArray(argv) && argv.length === 1 && /^http:\/\/127\.0\.0\.1:[0-9]+\/start$/.test(argv[0]),
        `the browser's argv is the start address alone ${what} (${line})`,
      );
      // Providers by host and port, with a '/' after them so that port 4242 cannot match 42424.
      const providers = [idp.issuer, ...(github ? [github.base] : [])].map((u) => `${new URL(u).host}/`);
      for (const secret of ['state', 'nonce', 'code_challenge', 'client_id', 'redirect_uri', ...providers]) {
        check(!line.includes(secret), `no ${secret} in the browser's argv ${what} (${line})`);
      }
    }
  };

  // What must never cross into the page, collected as the test goes: value -> what it is.
  // From the browser: each request's state and nonce, each callback URL with its code. From
  // the keyring (where Keyfob keeps them): access, refresh and ID tokens, and a waiting link's
  // state, PKCE verifier and nonce. From the clipboard: each copied token. Client secrets are
  // not among them: the user types those into the page's setup forms.
  const secrets = new Map();
  const remember = (value, what) => {
    if (typeof value === 'string' && value.length >= 8 && !secrets.has(value)) secrets.set(value, what);
  };
  const rememberBrowser = () => {
    if (!existsSync(browserSecrets)) return;
    for (const line of readFileSync(browserSecrets, 'utf8').trim().split('\n').filter(Boolean)) {
      const seen = JSON.parse(line);
      remember(seen.state, 'state');
      remember(seen.nonce, 'nonce');
      remember(seen.callback, 'callback URL');
      remember(seen.code, 'authorization code');
      remember(seen.callbackState, 'state');
    }
  };
  /** Remembers what the keyring holds now; returns the item names. */
  const rememberKeyring = () => {
    const items = keyringItems(keyringService(home));
    for (const { username, secret } of items) {
      if (username.startsWith('provider/')) continue;
      if (username.startsWith('pending/')) {
        for (const [field, value] of Object.entries(JSON.parse(secret))) remember(value, `pending link's ${field}`);
      } else {
        remember(secret, username.replace(/^account\/[^/]+\//, 'stored '));
      }
    }
    return items.map((i) => i.username);
  };
  const ipc = new IpcLog();
  /** Checks everything the page sent and received so far against every secret seen so far. */
  const checkIpc = async (when) => {
    await ipc.drain(s);
    rememberBrowser();
    rememberKeyring();
    check(ipc.entries.length > 0 && ipc.commands().length > 0, `the IPC recorder saw the page's calls ${when}`);
    for (const [value, what] of secrets) {
      const found = ipc.containing(value);
      const where = found[0] && (found[0].entry.cmd ?? found[0].entry.data?.event ?? found[0].entry.kind);
      check(found.length === 0, `no ${what} crossed the IPC ${when} (found in ${where})`);
    }
    const withCode = ipc.entries.find((e) => /[?&#]code=/.test(e.line));
    check(!withCode, `no URL with code= crossed the IPC ${when} (${withCode?.entry.cmd ?? withCode?.entry.kind})`);
    console.log(`e2e:   (${secrets.size} secret values checked against ${ipc.entries.length} IPC records)`);
  };

  /** Waits for the shell's `count`-th clipboard-expired event (the clear timer ran) and returns its payload. */
  const clipboardExpired = async (count) => {
    const seen = async () => {
      await ipc.drain(s);
      return ipc.events().filter((e) => e.event === 'clipboard-expired')[count - 1];
    };
    return (await until(seen, (CLIPBOARD_CLEAR_SECONDS + 10) * 1000, `clipboard timer #${count}`)).payload;
  };

  // Quits Keyfob from its tray menu (closing the window keeps it in the tray), makes sure it is
  // gone, so that the next launch does not hand over to it (single instance), and ends the
  // WebDriver session.
  const closeApp = async (session, driver) => {
    await ipc.drain(session); // the window's IPC records go with it
    clickTrayEntry(await trayItem(), 'Quit');
    const quit = await until(async () => !keyfobRunning(), 10000, 'Keyfob to quit').then(
      () => true,
      () => false,
    );
    check(quit, 'Keyfob quit from its tray menu');
    await session.close();
    driver.stop();
  };

  /** Points the WebDriver session at Keyfob's window after the app built it again. */
  const switchToNewWindow = async (before) => {
    const handle = await until(async () => {
      const handles = await s.cmd('GET', '/window/handles').catch(() => []);
      return handles.find((h) => !before.includes(h)) ?? null;
    }, 15000, 'the new window');
    await s.cmd('POST', '/window', { handle });
    check((await ipc.install(s)) === 'installed', 'the IPC recorder is installed in the reopened window');
    return handle;
  };

  say('launching the app under WebKitWebDriver');
  const driver = await startDriver(env);
  cleanups.push(() => driver.stop());
  let s = await newSession(driver, binary);
  cleanups.push(() => s.close());
  check((await ipc.install(s)) === 'installed', 'the IPC recorder is installed before the first action');
  const shot = async (name) => writeFileSync(join(artifacts, `${name}.png`), await s.screenshot());
  failureShot = async () => writeFileSync(join(artifacts, 'failure.png'), await s.screenshot());

  await s.waitFor('#empty-state', { what: 'the empty state' });
  const emptyText = await (await s.find('#empty-state')).text();
  check(/No accounts linked yet/.test(emptyText), 'the empty state explains what to do');
  check((await s.findAll('#keyring-banner')).length === 0, 'the keyring works (no warning banner)');
  await shot('01-empty-state');

  // Shared between the steps below.
  let applications, eventsBefore, fill, expectUris, row, accountId, name, expiry, token, after, mark, since, dark, answered, latest, light, revoked, github, githubAccountId, providersFile, removed;

  await step('checking what the page may do', async () => {
    const inline = await s.script(`const el = document.createElement('script');
      el.textContent = 'window.__inlineRan = true';
      document.head.appendChild(el);
      return window.__inlineRan === true;`);
    check(inline === false, 'the CSP blocks inline scripts');
    for (const command of ['plugin:clipboard-manager|read_text', 'plugin:deep-link|get_current', 'plugin:opener|open_url']) {
      const answer = await s.cmd('POST', '/execute/async', {
        script: `const done = arguments[arguments.length - 1];
          window.__TAURI_INTERNALS__.invoke(arguments[0], { url: 'https://example.com' })
            .then(() => done('allowed'), (e) => done(String(e)));`,
        args: [command],
      });
      check(answer !== 'allowed' && /not allowed/i.test(answer), `the page may not call ${command} (${answer})`);
    }
    // Nor write the clipboard, open a file or a URL, or register itself for a URL scheme; each
    // is called with arguments that would work, and nothing may happen.
    const PAGE_TEXT = 'written by the page';
    const pageFile = join(work, 'opened-by-the-page.html');
    writeFileSync(pageFile, '<title>opened by the page</title>');
    applications = join(process.env.XDG_DATA_HOME, 'applications');
    const desktopFiles = () => (existsSync(applications) ? readdirSync(applications).sort().join(',') : '');
    const desktopBefore = desktopFiles();
    eventsBefore = browserEvents().length;
    writeClipboard(USER_TEXT);
    for (const [command, args] of [
      ['plugin:clipboard-manager|write_text', { text: PAGE_TEXT }],
      ['plugin:opener|open_path', { path: pageFile }],
      ['plugin:opener|open_url', { url: `${idp.issuer}/opened-by-the-page` }],
      ['plugin:deep-link|register', { protocol: 'keyfob-e2e-page' }],
    ]) {
      const answer = await s.cmd('POST', '/execute/async', {
        script: `const done = arguments[arguments.length - 1];
          window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then(() => done('allowed'), (e) => done(String(e)));`,
        args: [command, args],
      });
      check(answer !== 'allowed' && /not allowed/i.test(answer), `the page may not call ${command} (${answer})`);
    }
    // Each refusal came back before the plugin ran, so the clipboard and the scheme handlers are
    // as they were. Whether the page opened a file or a URL shows at the next link: the first
    // thing the test browser is asked to open from here on must be that link's sign-in page.
    check(readClipboard() === USER_TEXT, 'the page wrote nothing to the clipboard');
    check(desktopFiles() === desktopBefore, 'the page registered no URL scheme handler');
    const schemeHandler = spawnSync('xdg-mime', ['query', 'default', 'x-scheme-handler/keyfob-e2e-page'], { encoding: 'utf8' });
    check(schemeHandler.stdout.trim() === '', `no handler for the page's scheme (${schemeHandler.stdout.trim()})`);
  });

  await step('adding the provider through the settings UI', async () => {
    await s.click('#open-providers');
    await (await s.waitFor('#add-provider')).click();
    await s.waitFor('#provider-name');
    fill = async (css, text) => {
      const el = await s.find(css);
      await el.clear();
      await el.type(text);
    };
    /** Waits until the list at `css` shows exactly `expected` (the core's answer arrives over IPC). */
    expectUris = async (css, expected, what) => {
      let seen = null;
      const ok = await until(async () => {
        seen = await s.script(`const list = document.querySelector(arguments[0]);
          return list && !list.hasAttribute('aria-busy') ? [...list.querySelectorAll('code')].map((c) => c.textContent) : null;`, [css]);
        return JSON.stringify(seen) === JSON.stringify(expected);
      }, 5000, what).then(() => true, () => false);
      check(ok, `${what} (${JSON.stringify(seen)})`);
    };
    await fill('#provider-name', 'Local IdP');
    await fill('#provider-id', 'local');
    await fill('#provider-issuer', idp.issuer);
    await fill('#provider-client-id', 'keyfob-native');
    await fill('#provider-scopes', 'openid email profile offline_access');
    await fill('#provider-params', 'prompt=consent');
    // The app's scheme URI, and the any-port loopback URI the keyfob command uses.
    await expectUris('#provider-redirect-uris', ['dev.keyfob.app:/oauth/local', 'http://127.0.0.1/oauth/local'], 'the form shows the redirect URIs');
    // The keeper's per-provider lead (providers.toml's refresh_ahead), chosen when adding.
    check(
      (await s.script("return document.querySelector('#provider-refresh-ahead').value")) === 'default',
      'refresh ahead starts at the default in the add form',
    );
    await s.script("document.querySelector('#provider-refresh-ahead').scrollIntoView({ block: 'center' })");
    await s.click('#provider-refresh-ahead option[value="10m"]');
    await shot('02-add-provider');
    await s.click('#provider-save');
    await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]', { what: 'the provider in the list' });
    check(
      /^refresh_ahead = "10m"$/m.test(readFileSync(join(home, 'config/providers.toml'), 'utf8')),
      'the refresh-ahead choice of the add form was saved to providers.toml',
    );
    await shot('03-providers');
    await s.click('#providers-dialog .dialog-buttons .btn-primary');
    await s.waitGone('#providers-dialog[open]');
  });

  await step('linking an account through the system browser', async () => {
    // The store watcher's reload may replace the button between a find and a click.
    await s.waitFor('#link-account');
    await s.click('#link-account');
    await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]', {
      what: 'the provider preselected',
    });
    await shot('04-link-dialog');
    await s.click('#link-start');
    await s.waitFor('#link-cancel', { what: 'the waiting state' });
    // What the browser was started with, first: any local user can read it.
    await until(async () => browserEvents().slice(eventsBefore).find((e) => e.event === 'opened'), 45000, 'the system browser to start');
    const firstOpened = browserEvents().slice(eventsBefore)[0];
    check(
      firstOpened?.event === 'opened' && firstOpened.host.startsWith('127.0.0.1:') && firstOpened.path === '/start',
      `the page opened no file and no URL: the first thing opened since is the link's start address (${JSON.stringify(firstOpened)})`,
    );
    checkArgv(browserEvents().slice(eventsBefore), 'for the first link');
    await until(
      async () => browserEvents().find((e) => e.event === 'redirected' || e.event === 'failed'),
      45000,
      'Chromium to sign in at the provider',
    );
    const failed = browserEvents().find((e) => e.event === 'failed');
    check(!failed, `the browser signed in (${failed?.error})`);
    const started = browserEvents().slice(eventsBefore).find((e) => e.event === 'started');
    const signInPage = new URL(idp.discovery.authorization_endpoint);
    check(
      started?.status === 303 && started.host === signInPage.host && started.path === signInPage.pathname && !started.loopback,
      `the start address led Chromium to the provider's sign-in page (${JSON.stringify(started)})`,
    );
    check(browserEvents().some((e) => e.event === 'login-page'), 'the provider showed its real login page');
    await shot('05-waiting-for-browser');
    check(rememberKeyring().some((n) => n.startsWith('pending/')), 'the waiting link’s state and PKCE verifier are in the keyring');
    writeFileSync(gate, '');

    row = await s.waitFor('.account-row', { timeout: 30000, what: 'the new account row' });
    await s.waitGone('#link-dialog[open]');
    accountId = await row.attr('data-account-id');
    name = await s.script("return document.querySelector('.account-row .account-name').textContent");
    check(name === EMAIL, `the row shows the identity (${name})`);
    // Read in one go in the page: the store watcher may render the list again meanwhile.
    const chips = await s.script("return [...document.querySelectorAll('.account-row .chip')].map((c) => c.textContent.trim())");
    for (const scope of ['openid', 'email', 'profile', 'offline_access']) {
      check(chips.includes(scope), `scope ${scope} is shown as a chip (${chips})`);
    }
    expiry = await (await s.find('.account-row .expiry')).text();
    // The row shows the expiry the account file holds, in words that fit the hour-long token
    // (however long the link took).
    const storedExpiry = JSON.parse(readFileSync(accountsFile, 'utf8')).accounts[0].access_expires_at;
    const shownAt = await (await s.find('.account-row .expiry')).attr('data-expires');
    check(Date.parse(shownAt) === Date.parse(storedExpiry), `the row shows the stored expiry (${shownAt} vs ${storedExpiry})`);
    const minutesLeft = (Date.parse(storedExpiry) - Date.now()) / 60000;
    check(
      /^expires in (1 h|[1-5]?\d min)$/.test(expiry) && minutesLeft > 0 && minutesLeft <= 60.1,
      `the expiry is shown (${expiry}, ${minutesLeft.toFixed(1)} min left)`,
    );
    check((await s.findAll('.account-row.highlight')).length === 1, 'the new account is highlighted');
    check((await s.findAll(`[data-key="refresh-${accountId}"]`)).length === 1, 'an account with a refresh token offers Refresh');
    // The running app may show the account before the process that handed the URL over has
    // exited and been reaped, so wait for that report instead of expecting it already.
    const handedOver = await until(async () => browserEvents().find((e) => e.event === 'delivered'), 30000, 'the hand-over report');
    check(handedOver.exitCode === 0, `the second instance handed over and exited (${JSON.stringify(handedOver)})`);
    await shot('06-account-linked');
    const stored = rememberKeyring();
    check(
      ['access_token', 'refresh_token', 'id_token'].every((t) => stored.includes(`account/${accountId}/${t}`)),
      `the account’s tokens are in the keyring (${stored})`,
    );
  });

  await step('copying a token', async () => {
    await s.click(`[data-key="copy-${accountId}"]`);
    await until(async () => (await (await s.find(`[data-key="copy-${accountId}"]`)).text()).includes('Copied'), 5000, 'the Copied confirmation');
    token = readClipboard();
    check(token.length > 20, 'the clipboard holds a token');
    // Marked as a secret, so clipboard managers keep it out of their history (KDE's hint, which
    // other managers honour too).
    const offered = clipboardTargets();
    check(offered.hint === 'secret', `the copy carries the password-manager hint (${JSON.stringify(offered)})`);
    remember(token, 'copied access token');
    const html = await s.script('return document.documentElement.outerHTML');
    check(!html.includes(token), 'the token never reached the webview');
    const userinfo = await idp.userinfo(token);
    check(userinfo.status === 200 && userinfo.body?.email === EMAIL, `the provider accepts the token at userinfo (${userinfo.status})`);
    const introspection = await idp.introspect(token);
    check(introspection.active === true && introspection.client_id === 'keyfob-native', 'introspection says the token is active');
    await shot('07-token-copied');
  });

  await step(`waiting for the clipboard to be cleared (${CLIPBOARD_CLEAR_SECONDS} s)`, async () => {
    const firstExpiry = await clipboardExpired(1);
    check(firstExpiry.cleared === true, `the clear timer cleared the token (${JSON.stringify(firstExpiry)})`);
    check(readClipboard() === '', 'the clipboard is empty');
    await until(
      async () => (await s.script("return [...document.querySelectorAll('.toast')].map((t) => t.textContent).join('\\n')")).includes('Cleared the copied token'),
      5000,
      'the notice that the clipboard was cleared',
    );
    await s.waitGone('.toast'); // the README shows this calm state
    await shot('08-account-list');
  });

  await step('copying again, then copying something else: Keyfob leaves that alone', async () => {
    await s.click(`[data-key="copy-${accountId}"]`);
    await until(async () => readClipboard().length > 20, 5000, 'the token on the clipboard');
    writeClipboard(USER_TEXT);
    const secondExpiry = await clipboardExpired(2);
    check(secondExpiry.cleared === false, `the clear timer left the user's text alone (${JSON.stringify(secondExpiry)})`);
    check(readClipboard() === USER_TEXT, 'the clipboard is cleared only while it holds the token');
  });

  await step('refreshing the account from its row', async () => {
    // The provider's next token answer says the token lasts 2 h, so the row visibly changes.
    const refreshesBefore = (await idp.stats()).token.refresh_token;
    const expiresBefore = await (await s.find('.account-row .expiry')).attr('data-expires');
    const expiryBefore = await (await s.find('.account-row .expiry')).text();
    await idp.expiresIn(7200);
    await s.click(`[data-key="refresh-${accountId}"]`);
    await until(
      async () => /^expires in (2 h|1 h 59 min)$/.test(await (await s.find('.account-row .expiry')).text()),
      10000,
      'the new expiry in the row',
    );
    const refreshedToast = await until(
      async () => (await s.script("return [...document.querySelectorAll('.toast')].map((t) => t.textContent).join('\\n')")).match(/Refreshed .*/)?.[0],
      5000,
      'the Refreshed notice',
    );
    check(refreshedToast.includes(EMAIL), `the UI says the account was refreshed (${refreshedToast})`);
    const expiresAfter = await (await s.find('.account-row .expiry')).attr('data-expires');
    check(Date.parse(expiresAfter) - Date.parse(expiresBefore) > 3000 * 1000, `the expiry moved from ${expiresBefore} (${expiryBefore}) to ${expiresAfter}`);
    check((await idp.stats()).token.refresh_token === refreshesBefore + 1, 'the provider answered exactly one more refresh');
    const refreshedAccount = JSON.parse(readFileSync(accountsFile, 'utf8')).accounts[0];
    check(!!refreshedAccount.refreshed_at, `the account file records the refresh (${refreshedAccount.refreshed_at})`);
    check((await s.findAll('.account-row .badge-ok')).length === 1, 'the row is Active again after Refreshing…');
    await s.waitGone('.toast');
    await shot('08b-account-refreshed');
  });

  await step('copying a token with less than a minute left: Keyfob refreshes it first', async () => {
    // A refresh whose answer says the token lasts 30 s, then Copy.
    await idp.expiresIn(30);
    await s.click(`[data-key="refresh-${accountId}"]`);
    await until(
      async () => /^expires in (less than a minute|\d+ s)$/.test(await (await s.find('.account-row .expiry')).text()),
      10000,
      'the short expiry in the row',
    );
    await s.waitGone('.toast');
    const refreshesBeforeCopy = (await idp.stats()).token.refresh_token;
    const clipboardBefore = readClipboard();
    await s.click(`[data-key="copy-${accountId}"]`);
    const refreshedCopy = await until(async () => {
      const t = readClipboard();
      return t.length > 20 && t !== clipboardBefore ? t : null;
    }, 10000, 'the refreshed token on the clipboard');
    remember(refreshedCopy, 'copied access token');
    check((await idp.stats()).token.refresh_token === refreshesBeforeCopy + 1, 'Copy refreshed the token first');
    const copyToast = await until(
      async () => (await s.script("return [...document.querySelectorAll('.toast')].map((t) => t.textContent).join('\\n')")).match(/Refreshed and copied .*/)?.[0],
      5000,
      'the Refreshed and copied notice',
    );
    check(copyToast.includes(EMAIL), `the UI says the token was refreshed before copying (${copyToast})`);
    check((await idp.introspect(refreshedCopy)).active === true, 'the refreshed token works');
    await s.waitGone('.toast');
  });

  await step('checking the recorded IPC: no secret crossed into the page', async () => {
    await checkIpc('after linking, copying and refreshing');
    for (const command of ['list_accounts', 'start_link', 'copy_token', 'refresh_account']) {
      check(ipc.commands().includes(command), `the recorder saw ${command} (${[...new Set(ipc.commands())]})`);
    }
    check(ipc.events().some((e) => e.event === 'link-finished' && e.payload?.account?.id === accountId), 'the recorder saw the link-finished event');
    check(ipc.entries.some((e) => e.entry.kind === 'result' && e.entry.cmd === 'refresh_account' && e.entry.ok), 'the recorder saw refresh_account’s answer');
  });

  await step('delivering a forged callback', async () => {
    const before = readFileSync(accountsFile, 'utf8');
    const forged = `dev.keyfob.app:/oauth/local?code=forged-code-123&state=forged-state-456&iss=${encodeURIComponent(idp.issuer)}`;
    const second = spawn(binary, [forged], { env, stdio: 'ignore' });
    const exit = await new Promise((r) => second.on('exit', r));
    check(exit === 0, 'the second instance handed the URL over and exited');
    const toast = await s.waitFor('.toast-error', { what: 'the refusal notice' });
    check(/Ignored a sign-in response/.test(await toast.text()), 'the UI says the callback was ignored');
    await shot('09-forged-callback-refused');
    check(readFileSync(accountsFile, 'utf8') === before, 'the forged callback changed nothing');
    check((await s.findAll('.account-row')).length === 1, 'the UI shows no new account');
    after = await s.script('return document.documentElement.outerHTML');
    check(!after.includes('forged-code-123') && !after.includes('forged-state-456'), 'the callback URL never reached the webview');
  });

  await step('a flood of forged callbacks: one notice counts them', async () => {
    // A web page can open dev.keyfob.app: links over and over. Each is refused, and the window
    // keeps one notice with a count instead of one notice each.
    await s.waitGone('.toast-error'); // the count starts with no notice showing
    const before = readFileSync(accountsFile, 'utf8');
    const FLOOD = 12;
    const exits = await Promise.all(
      Array.from({ length: FLOOD }, (_, i) => {
        const url = `dev.keyfob.app:/oauth/local?code=flood-code-${i}&state=flood-state-${i}&iss=${encodeURIComponent(idp.issuer)}`;
        const child = spawn(binary, [url], { env, stdio: 'ignore' });
        return new Promise((r) => child.on('exit', r));
      }),
    );
    check(exits.every((code) => code === 0), `every second instance handed its URL over (${exits})`);
    const counted = await until(async () => {
      const texts = await s.script("return [...document.querySelectorAll('.toast-error')].map((t) => t.textContent)");
      return texts.length === 1 && /Ignored (\d+) sign-in responses/.exec(texts[0])?.[1] === String(FLOOD) && texts;
    }, 15000, 'one notice counting every refused callback').catch(async () => s.script("return [...document.querySelectorAll('.toast-error')].map((t) => t.textContent)"));
    check(counted.length === 1 && counted[0].includes(`Ignored ${FLOOD} sign-in responses`), `one notice counts them (${JSON.stringify(counted)})`);
    await shot('09b-forged-callbacks-counted');
    check(readFileSync(accountsFile, 'utf8') === before, 'the flood changed nothing');
    await s.waitGone('.toast-error');
  });

  await step('denying access at the provider', async () => {
    mark = browserEvents().length;
    since = () => browserEvents().slice(mark);
    writeFileSync(plan, JSON.stringify({ consent: 'deny' }));
    const beforeDenial = readFileSync(accountsFile, 'utf8');
    await s.click('#link-account');
    await (await s.waitFor('#link-start')).click();
    const denied = await s.waitFor('#link-error', { timeout: 45000, what: 'the failure in the link dialog' });
    const deniedText = await s.script("return document.querySelector('#link-dialog .failed').textContent");
    check(/access_denied/.test(deniedText) && /Allow/.test(deniedText), `the dialog says what went wrong and what to do (${deniedText})`);
    check(since().some((e) => e.event === 'consent-page' && e.consent === 'deny'), 'the user denied on the real consent page');
    check(!!denied && readFileSync(accountsFile, 'utf8') === beforeDenial, 'a denied link changes nothing');
    await shot('10-link-denied');
    await s.click('#link-dialog .dialog-buttons .btn:not(.btn-primary)'); // Close
    await s.waitGone('#link-dialog[open]');
    rmSync(plan);
  });

  await step('cancelling a link: its late callback is refused', async () => {
    rmSync(gate);
    mark = browserEvents().length;
    const beforeCancel = readFileSync(accountsFile, 'utf8');
    await s.click('#link-account');
    await (await s.waitFor('#link-start')).click();
    await s.waitFor('#link-cancel');
    await until(async () => since().find((e) => e.event === 'redirected'), 45000, 'Chromium to sign in');
    rememberKeyring(); // this link's state and verifier
    await s.click('#link-cancel');
    await s.waitGone('#link-dialog[open]');
    writeFileSync(gate, '');
    await until(async () => since().find((e) => e.event === 'delivered'), 30000, 'the late callback');
    await until(
      async () => (await s.script("return [...document.querySelectorAll('.toast-error')].map((t) => t.textContent).join('\\n')")).includes('cancelled'),
      10000,
      'the notice that the late callback was refused',
    );
    check(readFileSync(accountsFile, 'utf8') === beforeCancel, 'the cancelled link changed nothing');
  });

  await step('re-linking while Keyfob is closed: the callback cold-starts the app', async () => {
    rmSync(gate);
    mark = browserEvents().length;
    await s.click(`[data-key="scopes-${accountId}"]`);
    await s.waitFor('#link-dialog #link-start');
    const scopesField = await s.find('#link-dialog input[data-key="scopes"]');
    check((await scopesField.attr('value')).startsWith('openid email profile offline_access'), 'add scopes starts from the granted scopes');
    await shot('11-add-scopes');
    await s.click('#link-start');
    await s.waitFor('#link-cancel');
    await until(async () => since().find((e) => e.event === 'redirected' || e.event === 'failed'), 45000, 'Chromium to sign in again');
    check(!since().some((e) => e.event === 'failed'), 'the browser signed in again');
    rememberKeyring();
    const codesBefore = (await idp.stats()).token.authorization_code;
    const linkedBefore = readFileSync(accountsFile, 'utf8');
    check(keyfobRunning(), 'Keyfob holds its single-instance name while it runs');
    await closeApp(s, driver);
    writeFileSync(gate, '');
    const launched = await until(async () => since().find((e) => e.event === 'launched'), 30000, 'the callback URL to start Keyfob');
    await until(
      async () => (await idp.stats()).token.authorization_code === codesBefore + 1 && readFileSync(accountsFile, 'utf8') !== linkedBefore,
      20000,
      'the cold-started app to complete the link',
    );
    // The process the callback URL started is the one that completed the link, and it is still
    // Keyfob: it did not hand the URL to another instance.
    check(!since().some((e) => e.event === 'delivered'), `with no Keyfob running, the callback URL started it (${JSON.stringify(since())})`);
    check(appPids(binary, home).includes(launched.pid) && keyfobRunning(), `the started process is the running Keyfob (${launched.pid})`);
    check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 1, 're-linking kept one account');
    process.kill(launched.pid, 'SIGTERM');
    const ended = await until(async () => since().find((e) => e.event === 'delivered'), 10000, 'the cold-started app to exit');
    check(ended.pid === launched.pid && !alive(launched.pid), `the cold-started app exited (${JSON.stringify(ended)})`);
    await until(async () => !keyfobRunning(), 15000, 'Keyfob to release its name');
  });

  await step('switching the provider to a loopback redirect in the settings (dark theme, tokens kept on the clipboard)', async () => {
    dark = await startDriver({ ...env, GTK_THEME: 'Adwaita:dark', KEYFOB_CLIPBOARD_CLEAR_SECONDS: '0' });
    cleanups.push(() => dark.stop());
    s = await newSession(dark, binary);
    check((await ipc.install(s)) === 'installed', 'the IPC recorder is installed in the new window');
    await s.waitFor('.account-row');
    check(await s.script('return matchMedia("(prefers-color-scheme: dark)").matches'), 'the window follows the dark theme');
    const keptNote = await until(async () => {
      const text = await s.script("return document.querySelector('.list-note')?.textContent ?? ''");
      return /after \d+ s|until you copy/.test(text) && text;
    }, 5000, 'the note on copied tokens');
    check(/stays on the clipboard until you copy something else/.test(keptNote), `with KEYFOB_CLIPBOARD_CLEAR_SECONDS=0 copied tokens are kept (${keptNote})`);
    await shot('12-dark-account-list');
    await s.click('#open-providers');
    await (await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"] button')).click();
    await s.waitFor('#provider-redirect');
    await s.click('#provider-redirect option[value="loopback"]');
    await expectUris('#provider-redirect-uris', ['http://127.0.0.1/oauth/local'], 'the form shows the loopback redirect URI');
    await shot('13-dark-edit-provider');
    await s.click('#provider-save');
    await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]');
    await s.click('#providers-dialog .dialog-buttons .btn-primary');
    await s.waitGone('#providers-dialog[open]');
  });

  await step('linking through the loopback redirect', async () => {
    mark = browserEvents().length;
    const codesBeforeLoopback = (await idp.stats()).token.authorization_code;
    await s.click('#link-account');
    await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
    await s.waitFor('#link-dialog .provider-option[data-preset="github"]', { what: 'the presets in the dark picker' });
    await shot('14a-dark-link-picker');
    await s.click('#link-start');
    answered = await until(
      async () => since().find((e) => e.event === 'loopback-answered' || e.event === 'failed'),
      45000,
      "Keyfob's loopback listener to answer the browser",
    );
    check(answered.event === 'loopback-answered' && answered.status === 200, `the listener answered the browser (${JSON.stringify(answered)})`);
    await s.waitFor('.account-row.highlight', { what: 'the re-linked account highlighted' });
    await s.waitGone('#link-dialog[open]');
    check((await idp.stats()).token.authorization_code === codesBeforeLoopback + 1, 'the loopback link exchanged one code');
    check((await s.findAll('.account-row')).length === 1, 'still one account');
    await shot('14-dark-linked-via-loopback');
    await s.click(`[data-key="copy-${accountId}"]`);
    latest = await until(async () => {
      const t = readClipboard();
      return t !== '' && t !== token && t !== USER_TEXT ? t : null;
    }, 10000, 'the new token on the clipboard');
    check((await idp.introspect(latest)).active === true, 'the token of the loopback link works');
    remember(latest, 'copied access token');
    rememberKeyring();
    const keptToast = await until(
      async () => (await s.script("return [...document.querySelectorAll('.toast')].map((t) => t.textContent).join('\\n')")).match(/Copied .*/)?.[0],
      5000,
      'the Copied notice',
    );
    check(!/cleared/.test(keptToast), `no clear is announced when tokens are kept (${keptToast})`);
    await ipc.drain(s);
    const keptCopy = ipc.entries.filter((e) => e.entry.kind === 'result' && e.entry.cmd === 'copy_token').at(-1);
    check(keptCopy?.entry.ok && JSON.parse(keptCopy.entry.body).clears_in === null, `the shell schedules no clear (${keptCopy?.entry.body})`);
  });

  await step('turning on linking with a code in the provider settings while an account uses it (dark theme)', async () => {
    // The device endpoint is not among what accounts are bound to: the edit goes through
    // although alice's account is linked through the provider.
    const providersToml = join(home, 'config/providers.toml');
    check(!readFileSync(providersToml, 'utf8').includes('device_authorization_endpoint'), 'linking with a code is off by default');
    await s.click('#open-providers');
    await (await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"] button')).click();
    const box = await s.waitFor('#provider-device-flow', { what: 'the device flow checkbox' });
    check(!(await s.script("return document.querySelector('#provider-device-flow').checked")), 'the checkbox is off');
    const warning = await (await s.find('#provider-device-flow-warning')).text();
    check(/phishing/.test(warning) && /only where you need it/.test(warning), `the form warns about relayed codes (${warning})`);
    await box.click();
    // The keeper's per-provider setting, in the same form: it shows what was chosen when
    // adding, and going back to the default leaves the setting out of providers.toml.
    check(
      (await s.script("return document.querySelector('#provider-refresh-ahead').value")) === '10m',
      'the edit form shows the saved refresh-ahead lead',
    );
    await s.script("document.querySelector('#provider-refresh-ahead').scrollIntoView({ block: 'center' })");
    await s.click('#provider-refresh-ahead option[value="default"]');
    await s.script("document.querySelector('#provider-device-flow-warning').scrollIntoView({ block: 'center' })");
    await shot('14b-dark-device-flow-setting');
    await s.click('#provider-save');
    await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]', { what: 'the list after saving' });
    const saved = readFileSync(providersToml, 'utf8');
    check(
      saved.includes(`device_authorization_endpoint = "${idp.discovery.device_authorization_endpoint}"`),
      `the endpoint the issuer's discovery names was saved (${idp.discovery.device_authorization_endpoint})`,
    );
    check(!/^refresh_ahead/m.test(saved), 'the default refresh-ahead is left out of providers.toml');
    await s.click('#providers-dialog .dialog-buttons .btn-primary');
    await s.waitGone('#providers-dialog[open]');
  });

  await step('linking with a code: Chromium enters it at the provider, the account appears (dark theme)', async () => {
    await s.waitGone('.toast');
    const accountsBefore = JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length;
    await s.click('#link-account');
    await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
    await (await s.waitFor('#link-code', { what: '"Use a code instead"' })).click();
    const userCode = (await (await s.waitFor('#code-user-code', { timeout: 20000, what: 'the user code' })).text()).trim();
    check(/^[A-Z0-9-]{4,}$/.test(userCode), `the window shows the user code (${userCode})`);
    const address = (await (await s.find('#code-page')).text()).trim();
    check(address.startsWith(`${idp.issuer}/`), `the window shows the provider's code page (${address})`);
    const left = await (await s.find('[data-code-expires]')).text();
    check(/^\d+:\d\d$/.test(left), `the window counts down to the code's expiry (${left})`);
    check((await s.script('return document.activeElement && document.activeElement.id')) === 'code-copy', 'Copy has the focus');
    await shot('14c-dark-code-dialog');
    await s.click('#code-copy');
    await until(async () => readClipboard() === userCode, 5000, 'the code on the clipboard');
    // The user opens the address (in the system browser, through the shell) and types the code.
    writeFileSync(plan, JSON.stringify({ userCode, login: 'bob' }));
    mark = browserEvents().length;
    await s.click('#code-page');
    const done = await until(async () => since().find((e) => e.event === 'code-done' || e.event === 'failed'), 45000, 'Chromium to enter the code and approve');
    check(done.event === 'code-done' && done.entered, `Chromium entered the code and approved (${JSON.stringify(done)})`);
    const opened = since().find((e) => e.event === 'opened');
    check(
      JSON.stringify(opened?.argv) === JSON.stringify([address]),
      `the system browser was started with the code page's address alone (${JSON.stringify(opened?.argv)})`,
    );
    check(since().some((e) => e.event === 'login-page') && since().some((e) => e.event === 'consent-page'), 'the user signed in and approved at the provider');
    await s.waitFor('.account-row[data-account-id].highlight', { timeout: 30000, what: 'the new account highlighted' });
    await s.waitGone('#link-dialog[open]');
    const accounts = JSON.parse(readFileSync(accountsFile, 'utf8')).accounts;
    check(accounts.length === accountsBefore + 1, `one more account (${accounts.length})`);
    const bob = accounts.find((a) => a.email === 'bob@example.test');
    check(!!bob, `bob's account was linked (${accounts.map((a) => a.email)})`);
    check((await s.findAll(`.account-row[data-account-id="${bob.id}"]`)).length === 1, 'the window shows it');
    check(rememberKeyring().includes(`account/${bob.id}/access_token`), 'its tokens are in the keyring');
    await shot('14d-dark-linked-with-a-code');
    await checkIpc('after linking with a code');
    check(ipc.commands().includes('start_code_link') && ipc.commands().includes('open_code_page'), 'the window used the code link commands');
    // Back to one account for the steps below.
    const unlinked = spawnSync(cli, ['unlink', bob.id], { env, encoding: 'utf8', timeout: 30000 });
    check(unlinked.status === 0, `keyfob unlink ${bob.id} (${unlinked.stderr})`);
    await s.waitGone(`.account-row[data-account-id="${bob.id}"]`, { timeout: 10000 });
    rmSync(plan);
  });

  await step('the settings panel in the dark theme', async () => {
    await s.click('#open-settings');
    await s.waitFor('#settings-dialog[open] #setting-refresh-ahead', { what: 'the settings panel' });
    await shot('14b-dark-settings');
    await s.press('Escape');
    await s.waitGone('#settings-dialog');
  });

  await step('reopening in the light theme with the default clipboard delay', async () => {
    await closeApp(s, dark);
    const { KEYFOB_CLIPBOARD_CLEAR_SECONDS: _short, ...defaults } = env;
    light = await startDriver(defaults);
    cleanups.push(() => light.stop());
    s = await newSession(light, binary);
    check((await ipc.install(s)) === 'installed', 'the IPC recorder is installed in the new window');
    await s.waitFor('.account-row');
    const note = await s.script("return document.querySelector('.list-note').textContent");
    check(/after 30 s/.test(note), `copied tokens are cleared after 30 s by default (${note})`);
    await shot('15-account-list'); // the README shows this one
  });

  await step('a code denied at the provider: the dialog says so and nothing is stored', async () => {
    const accountsBefore = readFileSync(accountsFile, 'utf8');
    const keyringBefore = rememberKeyring().sort().join(',');
    await s.waitGone('.toast');
    await s.click('#link-account');
    await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
    await shot('15a-link-dialog-with-code-choice');
    await (await s.waitFor('#link-code')).click();
    const userCode = (await (await s.waitFor('#code-user-code', { timeout: 20000, what: 'the user code' })).text()).trim();
    await shot('15b-code-dialog');
    writeFileSync(plan, JSON.stringify({ userCode, consent: 'deny' }));
    mark = browserEvents().length;
    await s.click('#code-page');
    const done = await until(async () => since().find((e) => e.event === 'code-done' || e.event === 'failed'), 45000, 'Chromium to enter the code and deny');
    check(done.event === 'code-done' && done.entered, `Chromium entered the code and denied (${JSON.stringify(done)})`);
    const error = await (await s.waitFor('#link-error', { timeout: 30000, what: 'the denial in the dialog' })).text();
    check(/denied/i.test(error), `the dialog says the code was denied (${error})`);
    await shot('15c-code-denied');
    check(readFileSync(accountsFile, 'utf8') === accountsBefore, 'no account was stored');
    check(rememberKeyring().sort().join(',') === keyringBefore, 'nothing was added to the keyring');
    await s.click('#link-retry');
    await (await s.waitFor('#link-code')).click();
    await s.waitFor('#code-user-code', { timeout: 20000, what: 'a new code' });
    // Cancel drops the waiting link: the window closes the dialog and nothing is stored.
    await s.click('#link-cancel');
    await s.waitGone('#link-dialog[open]');
    check(readFileSync(accountsFile, 'utf8') === accountsBefore, 'a cancelled code stored nothing');
    rmSync(plan);
  });

  await step('unlinking while the provider cannot revoke, then retrying', async () => {
    const statsBefore = await idp.stats();
    // Both revocation requests (refresh token, then access token) meet a failing server.
    await idp.failNext('revocation', 'status503', 2);
    await s.click(`[data-key="unlink-${accountId}"]`);
    await s.waitFor('#confirm-ok');
    await shot('16-confirm-unlink');
    await s.click('#confirm-ok');
    await s.waitFor(`[data-key="retry_unlink-${accountId}"]`, { what: 'the Retry button of an unlink the provider could not confirm' });
    const row = await s.script(`return document.querySelector('[data-key="retry_unlink-${accountId}"]').closest('.account-row').textContent`);
    check(/Unlink pending/.test(row), `the row says the unlink is pending (${row})`);
    check(/Forget/.test(row), 'the row offers to forget the account without revoking');
    check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 1, 'the account is kept, marked, for a retry');
    await shot('16b-unlink-pending');
    await s.click(`[data-key="retry_unlink-${accountId}"]`);
    await s.waitFor('#empty-state', { what: 'the empty state after unlinking' });
    const statsAfter = await idp.stats();
    check(statsAfter.revocation === statsBefore.revocation + 2, 'the provider received the revocations (refresh and access token)');
    check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 0, 'the account is gone from the file');
    revoked = await idp.introspect(latest);
    check(revoked.active === false, 'the unlinked account’s token no longer works');
  });

  await step('linking a GitHub account through the preset (GitHub Enterprise URL, loopback redirect)', async () => {
    // Registered the way the setup form says: an OAuth App whose callback is the loopback URL
    // (any port). The Enterprise provider id names the path.
    github = await startGithub(join(root, 'tests/github/server.mjs'), join(work, 'github.json'), {
      apps: [
        {
          client_id: GITHUB_CLIENT_ID,
          client_secret: GITHUB_CLIENT_SECRET,
          name: 'Keyfob (OAuth App)',
          kind: 'oauth_app',
          expiring: false,
          callback_urls: [GITHUB_CALLBACK],
        },
      ],
    });
    cleanups.push(() => github.stop());
    writeFileSync(plan, JSON.stringify({ login: 'octocat' }));
    mark = browserEvents().length;
    await s.waitGone('.toast');
    await s.click('#link-account');
    const presetTile = await s.waitFor('#link-dialog .provider-option[data-preset="github"]', { what: 'the GitHub preset in the picker' });
    check((await s.findAll('#link-dialog .provider-option[data-preset="google"]')).length === 1, 'the picker offers Google too');
    check((await s.findAll('#link-dialog .provider-option[data-provider-id="local"]')).length === 1, 'the picker still lists the configured provider');
    await shot('17-link-picker-presets'); // the README shows this one
    await presetTile.click();
    await s.waitFor('#preset-client-id', { what: 'the GitHub setup form' });
    await expectUris('#preset-callbacks', ['http://127.0.0.1/oauth/github'], 'the form shows the OAuth App callback');
    await s.click('#preset-github-app');
    await expectUris(
      '#preset-callbacks',
      ['dev.keyfob.app:/oauth/github', 'http://127.0.0.1:47213/oauth/github'],
      'a GitHub App needs both exact callbacks',
    );
    await s.click('#preset-github-app');
    await fill('#preset-client-id', GITHUB_CLIENT_ID);
    await fill('#preset-client-secret', GITHUB_CLIENT_SECRET);
    await fill('#preset-enterprise-url', github.base);
    await expectUris('#preset-callbacks', [GITHUB_CALLBACK], 'the callback follows the Enterprise provider id');
    await shot('18-github-setup');
    // Back returns to the picker; the tile opens a fresh form again.
    await s.click('#preset-back');
    await (await s.waitFor('#link-dialog .provider-option[data-preset="github"]')).click();
    await s.waitFor('#preset-client-id');
    check((await s.script("return document.querySelector('#preset-client-id').value")) === '', 'Back discards the setup form');
    await fill('#preset-client-id', GITHUB_CLIENT_ID);
    await fill('#preset-client-secret', GITHUB_CLIENT_SECRET);
    await fill('#preset-enterprise-url', github.base);
    await s.click('#preset-save');
    const githubAnswer = await until(
      async () => since().find((e) => e.event === 'loopback-answered' || e.event === 'failed'),
      45000,
      'Chromium to sign in at the GitHub stand-in and follow the loopback redirect',
    );
    check(githubAnswer.event === 'loopback-answered' && githubAnswer.status === 200, `the loopback listener answered (${JSON.stringify(githubAnswer)})`);
    check(since().some((e) => e.event === 'login-page') && since().some((e) => e.event === 'consent-page'), 'the user signed in and authorized on GitHub’s pages');
    const githubRow = await s.waitFor('.account-row', { timeout: 30000, what: 'the GitHub account row' });
    await s.waitGone('#link-dialog[open]');
    githubAccountId = await githubRow.attr('data-account-id');
    const githubName = await s.script("return document.querySelector('.account-row .account-name').textContent");
    check(githubName === 'octocat' || githubName === 'octocat@github.com', `the row shows the GitHub identity (${githubName})`);
    const githubExpiry = await (await s.find('.account-row .expiry')).text();
    check(githubExpiry === 'does not expire', `an OAuth App token does not expire (${githubExpiry})`);
    check((await s.findAll(`[data-key="refresh-${githubAccountId}"]`)).length === 0, 'an account without a refresh token offers no Refresh');
    check((await s.findAll(`[data-key="unlink-${githubAccountId}"]`)).length === 1, 'the GitHub row has its tools');
    const githubStats = await github.stats();
    check(githubStats.token.authorization_code === 1, 'the app exchanged one code at the GitHub stand-in');
    const providersToml = readFileSync(join(home, 'config/providers.toml'), 'utf8');
    check(providersToml.includes('github-enterprise'), 'the GitHub Enterprise provider was added');
    check(!providersToml.includes(GITHUB_CLIENT_SECRET), 'the client secret is not in the providers file');
    check(rememberKeyring().includes(`account/${githubAccountId}/access_token`), 'the GitHub token is in the keyring');
    await s.waitGone('.toast');
    await shot('19-github-linked');
  });

  await step('unlinking the GitHub account from the keyfob command line: the window follows', async () => {
    // Nothing touches the window here: it has to notice the change on its own.
    const unlinked = spawnSync(cli, ['unlink', githubAccountId], { env, encoding: 'utf8', timeout: 30000 });
    check(unlinked.status === 0, `keyfob unlink succeeded (${unlinked.status}: ${unlinked.stderr})`);
    check(/Unlinked octocat/.test(unlinked.stderr), `keyfob unlink says what it did (${unlinked.stderr.trim()})`);
    check((await github.stats()).delete_grant === 1, 'the GitHub stand-in received DELETE /applications/{client_id}/grant');
    await s.waitFor('#empty-state', { timeout: 10000, what: 'the window to show the account gone' });
    await shot('20-unlinked-from-the-cli');
    rmSync(plan);
  });

  await step('setting up the Google preset from the link dialog', async () => {
    // The form has no issuer field: the preset always discovers https://accounts.google.com
    // (keyfob-core GoogleOptions::new), so it cannot be pointed at the local provider's Google
    // mode, and this machine cannot reach Google. The test fills in the form as a user would
    // and checks the failure the form shows.
    providersFile = join(home, 'config/providers.toml');
    const providersBeforeGoogle = readFileSync(providersFile, 'utf8');
    await s.waitGone('.toast');
    await s.click('#link-account');
    await (await s.waitFor('#link-dialog .provider-option[data-preset="google"]', { what: 'the Google preset' })).click();
    await s.waitFor('#preset-client-id', { what: 'the Google setup form' });
    const googleFields = await s.script("return [...document.querySelectorAll('#link-dialog input')].map((i) => i.id)");
    check(
      JSON.stringify(googleFields) === JSON.stringify(['preset-client-id', 'preset-client-secret']),
      `the Google form asks for the client ID and secret only, no issuer (${googleFields})`,
    );
    await fill('#preset-client-id', GOOGLE_CLIENT_ID);
    await fill('#preset-client-secret', GOOGLE_CLIENT_SECRET);
    await shot('21-google-setup');
    await s.click('#preset-save');
    const googleError = await (await s.waitFor('#preset-error', { timeout: 30000, what: 'the Google setup error' })).text();
    check(
      /accounts\.google\.com/.test(googleError) && /discovery|cannot reach/i.test(googleError),
      `the form says Google's discovery document could not be read (${googleError})`,
    );
    check((await s.findAll('#preset-client-id')).length === 1, 'the form stays open to try again');
    check(readFileSync(providersFile, 'utf8') === providersBeforeGoogle, 'no Google provider was added');
    await shot('22-google-setup-failed');
    await s.click('#link-dialog .dialog-buttons .btn:not(.btn-primary):not(#preset-back)'); // Cancel
    await s.waitGone('#link-dialog[open]');
  });

  await step('a GitHub App added by the keyfob command with its own loopback port: the window shows that port', async () => {
    // `keyfob provider github --github-app --loopback-port 5000`: the app signs in through the
    // scheme, the command through port 5000, and both are what the user registers at GitHub.
    const added = spawnSync(
      cli,
      ['provider', 'github', '--id', 'gh-app', '--enterprise', github.base, '--github-app', '--loopback-port', '5000', '--client-id', 'Iv1.port', '--client-secret-stdin'],
      { env, encoding: 'utf8', input: 'port-app-secret\n', timeout: 30000 },
    );
    check(added.status === 0, `keyfob provider github --loopback-port 5000 (${added.status}: ${added.stderr})`);
    check(added.stderr.includes('http://127.0.0.1:5000/oauth/gh-app'), `the command names the port to register (${added.stderr})`);
    await s.click('#open-providers');
    await (await s.waitFor('#providers-dialog .provider-row[data-provider-id="gh-app"] button', { what: 'the command’s provider in the window' })).click();
    await expectUris(
      '#provider-redirect-uris',
      ['dev.keyfob.app:/oauth/gh-app', 'http://127.0.0.1:5000/oauth/gh-app'],
      'the window shows the GitHub App’s callbacks with its port',
    );
    await shot('22b-github-app-port');
    await s.script("[...document.querySelectorAll('#providers-dialog .dialog-buttons .btn')].find((b) => b.textContent === 'Cancel').click()");
    await s.waitFor('#providers-dialog .provider-row[data-provider-id="gh-app"]', { what: 'the provider list again' });
    removed = spawnSync(cli, ['provider', 'remove', 'gh-app'], { env, encoding: 'utf8', timeout: 30000 });
    check(removed.status === 0, `keyfob provider remove gh-app (${removed.stderr})`);
    await s.waitGone('#providers-dialog .provider-row[data-provider-id="gh-app"]');
    await s.click('#providers-dialog .dialog-buttons .btn-primary');
    await s.waitGone('#providers-dialog[open]');
  });

  await step('removing a provider in the providers dialog', async () => {
    const secretName = 'provider/github-enterprise/client_secret';
    check(keyringItems(keyringService(home)).some((i) => i.username === secretName), 'the GitHub client secret is in the keyring');
    await s.click('#open-providers');
    await (await s.waitFor('#providers-dialog .provider-row[data-provider-id="github-enterprise"] button')).click();
    await (await s.waitFor('#providers-dialog .btn-danger-quiet', { what: 'Remove provider' })).click();
    await s.waitFor('#confirm-ok');
    await shot('23-confirm-remove-provider');
    await s.click('#confirm-ok');
    await s.waitGone('#providers-dialog .provider-row[data-provider-id="github-enterprise"]');
    await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]', { what: 'the other provider still listed' });
    check(!readFileSync(providersFile, 'utf8').includes('github-enterprise'), 'the provider is gone from providers.toml');
    check(readFileSync(providersFile, 'utf8').includes(idp.issuer), 'the other provider stays in providers.toml');
    check(!keyringItems(keyringService(home)).some((i) => i.username === secretName), 'its client secret left the keyring');
    await shot('24-provider-removed');
    await s.click('#providers-dialog .dialog-buttons .btn-primary');
    await s.waitGone('#providers-dialog[open]');
  });

  await step('linking, copying and unlinking with the keyboard only', async () => {
    // Tab, Enter and Escape as WebDriver key actions; at every stop the focused control must
    // show its focus ring (:focus-visible, here a box-shadow: the outline is none).
    const focused = () =>
      s.script(`const el = document.activeElement;
        if (!el || el === document.body || el === document.documentElement) return null;
        const style = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
        return {
          what: el.id || el.dataset.key || el.tagName + ' ' + el.textContent.trim().slice(0, 30),
          focusVisible: el.matches(':focus-visible'),
          ring: outline ? 'outline' : style.boxShadow !== 'none' ? 'box-shadow' : null,
          onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
        };`);
    const ringed = (f, what) => check(!!f && f.focusVisible && !!f.ring && f.onScreen, `${what} has a visible focus ring (${JSON.stringify(f)})`);
    /** Presses Tab until `css` has the focus, checking the ring at every stop. */
    const tabTo = async (css, what) => {
      for (let i = 0; i < 30; i++) {
        await s.press('Tab');
        const f = await focused();
        if (f) ringed(f, `${f.what} (Tab on the way to ${what})`);
        if (await s.script('return !!document.activeElement && document.activeElement.matches(arguments[0])', [css])) return f;
      }
      throw new Error(`Tab never reached ${what}`);
    };
    mark = browserEvents().length;
    const codesBeforeKeys = (await idp.stats()).token.authorization_code;
    await s.waitGone('.toast');
    await tabTo('#link-account', 'Link account');
    await s.press('Enter');
    await s.waitFor('#link-dialog[open] #link-start', { what: 'the link dialog opened by Enter' });
    if (!(await s.findAll('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]')).length) {
      await tabTo('#link-dialog .provider-option[data-provider-id="local"]', 'the local provider');
      await s.press('Enter');
      await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
    }
    await tabTo('#link-start', 'Continue in browser');
    await shot('25-keyboard-focus-continue');
    await s.press('Enter');
    const keysAnswer = await until(
      async () => since().find((e) => e.event === 'loopback-answered' || e.event === 'failed'),
      45000,
      'Chromium to sign in for the keyboard link',
    );
    check(keysAnswer.event === 'loopback-answered' && keysAnswer.status === 200, `the keyboard link reached the listener (${JSON.stringify(keysAnswer)})`);
    await s.waitFor('.account-row.highlight', { timeout: 30000, what: 'the account linked with the keyboard' });
    await s.waitGone('#link-dialog[open]');
    // Read in the page: the store watcher's reload may replace the row at any moment.
    const keysAccountId = await s.script("return document.querySelector('.account-row.highlight')?.dataset.accountId ?? null");
    check((await idp.stats()).token.authorization_code === codesBeforeKeys + 1, 'the keyboard link exchanged one code');
    rememberKeyring();

    await tabTo(`[data-key="copy-${keysAccountId}"]`, 'Copy token');
    await s.press('Enter');
    const keysToken = await until(async () => {
      const t = readClipboard();
      return t.length > 20 && t !== USER_TEXT ? t : null;
    }, 10000, 'the token copied with Enter');
    remember(keysToken, 'copied access token');
    check((await idp.introspect(keysToken)).active === true, 'the token copied with the keyboard works');
    await until(async () => (await (await s.find(`[data-key="copy-${keysAccountId}"]`)).text()).includes('Copied'), 5000, 'Copied');
    // While copying, the button is disabled and the row re-rendered; the focus comes back to it
    // afterwards, so a keyboard user keeps their place.
    const afterCopy = await until(async () => {
      const f = await focused();
      return f?.what === `copy-${keysAccountId}` ? f : null;
    }, 5000, 'the focus back on Copy token after copying');
    ringed(afterCopy, 'Copy token (Copied)');
    await shot('26-keyboard-focus-copied');

    await tabTo(`[data-key="unlink-${keysAccountId}"]`, 'Unlink');
    await s.press('Enter');
    await s.waitFor('#confirm-cancel', { what: 'the unlink question' });
    const safe = await focused();
    check(safe?.what === 'confirm-cancel', `the question starts on Cancel (${JSON.stringify(safe)})`);
    ringed(safe, 'Cancel in the unlink question');
    await s.press('Escape');
    await s.waitGone('#confirm-cancel');
    check((await s.findAll(`.account-row[data-account-id="${keysAccountId}"]`)).length === 1, 'Escape kept the account');
    check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 1, 'Escape changed nothing in the file');
    const revocationsBeforeKeys = (await idp.stats()).revocation;
    await tabTo(`[data-key="unlink-${keysAccountId}"]`, 'Unlink');
    await s.press('Enter');
    await s.waitFor('#confirm-ok');
    await tabTo('#confirm-ok', 'Unlink in the question');
    await shot('27-keyboard-focus-confirm');
    await s.press('Enter');
    await s.waitFor('#empty-state', { what: 'the empty state after unlinking with Enter' });
    check((await idp.stats()).revocation === revocationsBeforeKeys + 2, 'the keyboard unlink revoked both tokens at the provider');
    check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 0, 'the keyboard unlink removed the account from the file');
    check((await idp.introspect(keysToken)).active === false, 'the token copied with the keyboard no longer works');
  });

  // Shared by the tray steps.
  let tray, trayAccountId, trayLabel, appPid, calmIcon, handlesWhenClosed;
  // tauri-plugin-autostart (auto-launch 0.6) writes <productName>.desktop to ~/.config/autostart whatever
  // XDG_CONFIG_HOME says; desktops read $XDG_CONFIG_HOME/autostart, the same folder unless it is set.
  const autostartEntry = join(process.env.HOME, '.config', 'autostart', 'Keyfob.desktop');
  const settingsFile = join(home, 'config', 'settings.json');
  const webProcesses = () => childProcesses(appPid).filter((p) => p.name.startsWith('WebKitWebProces'));
  // The tray's expiry as tray_text.rs writes it: "14:05" today, "1 Dec 00:47" on another day
  // (an hour's token linked after 23:00 expires tomorrow).
  const trayExpiry = (iso) => {
    const d = new Date(iso);
    const clock = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    if (d.toDateString() === new Date().toDateString()) return clock;
    const month = d.toLocaleString('en', { month: 'short' });
    return `${d.getDate()} ${month} ${clock}`;
  };

  await step('the app runs the profile\'s keeper: a `keyfob keep` started meanwhile waits for it', async () => {
    // One keeper per profile: the app took the profile's keeper lock at start-up, so a
    // second keeper says it waits to take over, and refreshes nothing.
    const keep = spawn(cli, ['keep'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    keep.stderr.on('data', (chunk) => { log += chunk; });
    const exited = new Promise((done) => keep.on('exit', (code, signal) => done({ code, signal })));
    try {
      await until(async () => /waiting to take over/.test(log), 15000, 'keyfob keep to wait for the app\'s keeper');
      check(!/keeping this profile's accounts fresh/.test(log), `the second keeper did not start (${log.trim()})`);
    } finally {
      keep.kill('SIGTERM');
    }
    const end = await exited;
    check(end.code === 0, `keyfob keep stopped cleanly on SIGTERM while waiting (${JSON.stringify(end)}; ${log.trim()})`);
  });

  await step('the tray lists the accounts and copies a token', async () => {
    [appPid] = appPids(binary, home);
    tray = await trayItem();
    const props = trayItemProperties(tray);
    check(props.Status === 'Active' && props.Menu && props.IconName, `the tray item is active with a menu and an icon (${JSON.stringify(props)})`);
    calmIcon = props.IconName;
    // The last account was just unlinked: the store watcher rebuilds the menu within two seconds.
    const emptyMenu = JSON.stringify(['No accounts linked', '', 'Open Keyfob', 'Quit']);
    let empty = null;
    const emptied = await until(async () => {
      empty = JSON.stringify(trayMenu(tray).map((e) => e.label));
      return empty === emptyMenu;
    }, 10000, 'the empty tray menu').then(() => true, () => false);
    check(emptied, `with no account the menu says so (${empty})`);

    mark = browserEvents().length;
    await s.click('#link-account');
    await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
    await s.click('#link-start');
    await until(async () => since().find((e) => e.event === 'loopback-answered' || e.event === 'failed'), 45000, 'Chromium to sign in for the tray account');
    await s.waitFor('.account-row.highlight', { timeout: 30000, what: 'the account linked for the tray' });
    trayAccountId = await s.script("return document.querySelector('.account-row[data-account-id]')?.dataset.accountId ?? null");
    check(!!trayAccountId, 'the linked account has a row');
    rememberKeyring();
    const stored = JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.find((a) => a.id === trayAccountId);
    trayLabel = `Local IdP · ${EMAIL} — expires ${trayExpiry(stored.access_expires_at)}`;
    // The store watcher rebuilds the menu within two seconds of the change.
    const menu = await until(async () => {
      const m = trayMenu(tray);
      return m.some((e) => e.label === trayLabel) ? m : null;
    }, 10000, `the tray menu to list ${trayLabel}`).catch(() => {
      throw new Error(`the tray menu does not list ${trayLabel}: ${JSON.stringify(trayMenu(tray).map((e) => e.label))}`);
    });
    check(menu.some((e) => e.parent === trayLabel && e.label === 'Copy token'), `the account offers Copy token (${JSON.stringify(menu)})`);
    check(menu.filter((e) => e.depth === 0).map((e) => e.label).join('|') === `${trayLabel}||Open Keyfob|Quit`, `then Open Keyfob and Quit (${JSON.stringify(menu)})`);

    writeClipboard(USER_TEXT);
    const before = notifications().length;
    clickTrayEntry(tray, 'Copy token', trayLabel);
    const copied = await until(async () => {
      const t = readClipboard();
      return t.length > 20 && t !== USER_TEXT ? t : null;
    }, 10000, 'the token copied from the tray');
    remember(copied, 'copied access token');
    check((await idp.introspect(copied)).active === true, 'the token copied from the tray works');
    check(clipboardTargets().hint === 'secret', 'the tray copy carries the password-manager hint too');
    const said = await until(async () => notifications().slice(before).find((n) => n.summary === 'Token copied'), 5000, 'the copied notification');
    check(/cleared from the clipboard in 30 s/.test(said.body), `the notification says when the clipboard is cleared (${said.body})`);
  });

  await step('closing the window keeps Keyfob in the tray without a web process; the tray opens it again', async () => {
    const open = [appPid, ...childProcesses(appPid).filter((p) => p.name.startsWith('WebKit')).map((p) => p.pid)];
    check(webProcesses().length > 0, `the open window has a WebKit web process (${JSON.stringify(childProcesses(appPid))})`);
    const pssOpen = pssMb(open);
    const before = notifications().length;
    const handles = await s.cmd('GET', '/window/handles');
    await ipc.drain(s);
    check(closeWindow(appPid) === 1, 'the close button was pressed on one Keyfob window');
    await until(async () => webProcesses().length === 0, 15000, 'the web process to end with the window');
    check(alive(appPid) && keyfobRunning(), 'Keyfob still runs with its window closed');
    check(trayMenu(tray).some((e) => e.label === trayLabel), 'the tray icon and its menu stay');
    const stillRunning = await until(async () => notifications().slice(before).find((n) => n.summary === 'Keyfob is still running'), 5000, 'the first-close notice');
    check(/tray/.test(stillRunning.body), `the first close says Keyfob stays in the tray (${stillRunning.body})`);
    check(JSON.parse(readFileSync(settingsFile, 'utf8')).close_notice_shown === true, 'the notice is remembered as said');
    await sleep(2500); // let WebKit's other processes settle before measuring
    // Reported, not checked: this is a debug build under WebDriver (scripts/bench.sh measures
    // the release build). The browsers' xdg-open processes are the test's, not Keyfob's.
    const webkit = childProcesses(appPid).filter((p) => p.name.startsWith('WebKit'));
    const inTray = [{ pid: appPid, name: 'keyfob-app' }, ...webkit];
    const each = inTray.map((p) => `${p.name} ${pssMb([p.pid]).toFixed(0)}`).join(', ');
    console.log(`e2e:   (PSS: ${pssOpen.toFixed(0)} MB with the window open; in the tray ${pssMb(inTray.map((p) => p.pid)).toFixed(0)} MB: ${each})`);
    check(webkit.every((p) => !p.name.startsWith('WebKitWebProces')), `no WebKit web process is left (${JSON.stringify(webkit)})`);

    clickTrayEntry(tray, 'Open Keyfob');
    await switchToNewWindow(handles);
    await s.waitFor(`.account-row[data-account-id="${trayAccountId}"]`, { what: 'the account in the reopened window' });
    check(webProcesses().length > 0, 'the reopened window has its web process again');
    await shot('28-reopened-from-tray');

    // A second close says nothing more.
    const handlesAgain = await s.cmd('GET', '/window/handles');
    await ipc.drain(s);
    check(closeWindow(appPid) === 1, 'the close button was pressed again');
    await until(async () => webProcesses().length === 0, 15000, 'the web process to end again');
    await sleep(1000);
    check(notifications().slice(before).filter((n) => n.summary === 'Keyfob is still running').length === 1, 'the first-close notice is said once');
    check(alive(appPid), 'Keyfob still runs after the second close');
    handlesWhenClosed = handlesAgain;
  });

  await step('an account needing a new link: the tray shows it, one notification, and its click opens the re-link', async () => {
    // The grant ends at the provider; the next refresh by the keyfob command meets invalid_grant.
    const refreshToken = keyringItems(keyringService(home)).find((i) => i.username === `account/${trayAccountId}/refresh_token`)?.secret;
    check(!!refreshToken, 'the account has a refresh token in the keyring');
    const revoked = await fetch(idp.discovery.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: 'keyfob-native' }),
    });
    check(revoked.ok, `the provider revoked the grant (${revoked.status})`);
    const before = notifications().length;
    const failed = spawnSync(cli, ['token', '--min-valid', '2h', trayAccountId], { env, encoding: 'utf8', timeout: 30000 });
    check(failed.status !== 0 && /link/i.test(failed.stderr), `the keyfob command's refresh failed, asking for a new link (${failed.status}: ${failed.stderr.trim()})`);
    const relinkLabel = `Local IdP · ${EMAIL} — needs re-link`;
    const menu = await until(async () => {
      const m = trayMenu(tray);
      return m.some((e) => e.label === relinkLabel) ? m : null;
    }, 10000, 'the tray menu to show the re-link');
    check(menu.some((e) => e.parent === relinkLabel && e.label === 'Re-link…'), `the account offers Re-link (${JSON.stringify(menu)})`);
    const props = trayItemProperties(tray);
    check(props.IconName !== calmIcon, `the tray icon changed to the attention icon (${props.IconName} after ${calmIcon})`);
    const notice = await until(async () => notifications().slice(before).find((n) => n.summary === `${EMAIL} needs to be linked again`), 10000, 'the re-link notification');
    check(notice.actions.includes('default'), `the notification can be clicked (${JSON.stringify(notice.actions)})`);
    await sleep(4500); // two more rounds of the store watcher
    check(notifications().slice(before).filter((n) => /needs to be linked again/.test(n.summary)).length === 1, 'the re-link is announced once');

    clickNotification(notice.id);
    await switchToNewWindow(handlesWhenClosed);
    await s.waitFor('#link-dialog[open] .provider-option[data-provider-id="local"][aria-checked="true"]', { what: 'the re-link dialog opened by the notification' });
    await s.waitFor(`.account-row[data-account-id="${trayAccountId}"]`);
    await shot('29-relink-from-notification');
    await s.press('Escape');
    await s.waitGone('#link-dialog[open]');
  });

  await step('the settings panel: keyboard, start at login writes and removes the autostart entry', async () => {
    check(!existsSync(autostartEntry), 'no autostart entry by default');
    // A click is a press and a release: a re-render of the header in between (the window
    // reloads on focus) loses it, so a panel that did not open is asked for once more.
    const openSettings = async () => {
      await s.click('#open-settings');
      const opened = await s.waitFor('#settings-dialog[open] #setting-start-at-login', { timeout: 4000 }).catch(() => null);
      if (!opened) await s.click('#open-settings');
      await s.waitFor('#settings-dialog[open] #setting-start-at-login', { what: 'the settings panel' });
    };
    await openSettings();
    const state = () => s.script(`return ['refresh-ahead', 'close-to-tray', 'start-at-login'].map((k) => document.getElementById('setting-' + k).checked).concat(document.getElementById('setting-clipboard').value)`);
    check(JSON.stringify(await state()) === JSON.stringify([true, true, false, '30']), `the defaults: refresh ahead, close to tray, no start at login, 30 s (${await state()})`);
    check(await s.script("return document.activeElement && document.activeElement.id === 'setting-refresh-ahead'"), 'the panel opens with the focus on its first setting');
    await shot('30-settings-light');
    // Keyboard: Space toggles the focused setting, Escape leaves without saving.
    await s.press('Space');
    check((await state())[0] === false, 'Space toggles the focused setting');
    await s.press('Escape');
    await s.waitGone('#settings-dialog');
    check(JSON.parse(readFileSync(settingsFile, 'utf8')).refresh_ahead === true, 'Escape saved nothing');

    await openSettings();
    await s.click('#setting-start-at-login');
    await s.click('#settings-save');
    await s.waitGone('#settings-dialog');
    const entry = await until(async () => (existsSync(autostartEntry) ? readFileSync(autostartEntry, 'utf8') : null), 5000, 'the autostart entry');
    check(entry.includes(`Exec=${binary} --in-tray`), `the autostart entry starts this Keyfob in the tray (${entry})`);

    await openSettings();
    check((await state())[2] === true, 'the panel shows start at login on');
    await s.click('#setting-start-at-login');
    await s.click('#settings-save');
    await s.waitGone('#settings-dialog');
    await until(async () => !existsSync(autostartEntry), 5000, 'the autostart entry to be removed');
    const saved = JSON.parse(readFileSync(settingsFile, 'utf8'));
    check(saved.refresh_ahead === true && saved.close_to_tray === true && saved.clipboard_clear_seconds === 30, `the other settings are kept (${JSON.stringify(saved)})`);
  });

  await step('checking the whole run’s recorded IPC: no secret crossed into the page', async () => {
    await checkIpc('during the whole run');
    // Every browser Keyfob started got the start address alone, by scheme and by loopback.
    checkArgv(browserEvents(), 'during the whole run');
    const starts = browserEvents().filter((e) => e.event === 'started');
    const opened = browserEvents().filter((e) => e.event === 'opened');
    const codePages = opened.filter((e) => e.path === '/device');
    check(
      starts.some((e) => e.loopback) && starts.some((e) => !e.loopback) && starts.length === opened.length - codePages.length,
      `every start address led to the provider, for scheme and loopback links (${starts.length})`,
    );
    check(codePages.length === 2, `the code page was opened for each code entered, and only then (${codePages.length})`);
    for (const command of ['list_accounts', 'unlink_account', 'remove_provider', 'add_github_provider', 'add_google_provider']) {
      check(ipc.commands().includes(command), `the recorder saw ${command}`);
    }
    check(
      ipc.entries.some((e) => e.entry.kind === 'result' && e.entry.cmd === 'add_google_provider' && !e.entry.ok),
      'the recorder saw add_google_provider fail',
    );
    check(ipc.events().filter((e) => e.event === 'link-finished').length >= 3, 'the recorder saw the link-finished events of every window');
    check(
      ipc.events().some((e) => e.event === 'callback-refused' || (e.event === 'link-finished' && e.payload?.error)),
      'the recorder saw the refused callbacks’ events',
    );
    // Controls: the search does find what does cross (the client secret typed into the GitHub
    // form travels in add_github_provider's arguments), and every kind of secret was collected.
    check(ipc.containing(GITHUB_CLIENT_SECRET).some((e) => e.entry.cmd === 'add_github_provider'), 'the recorder sees command arguments');
    const kinds = new Set(secrets.values());
    for (const kind of ['state', 'authorization code', 'callback URL', "pending link's verifier", 'stored access_token', 'stored refresh_token', 'copied access token']) {
      check(kinds.has(kind), `the test collected a ${kind} to look for (${[...kinds]})`);
    }
    const recorder = ipc.entries.find((e) => e.entry.kind === 'recorder')?.entry;
    console.log(`e2e:   (invoke writable: ${recorder?.invokeWritable}; transformCallback writable: ${recorder?.transformCallbackWritable})`);
    await closeApp(s, light);
  });

  await step('in the tray without WebDriver: WebKit\'s idle network process ends; the window opens again and works', async () => {
    // WebKit ends a WebDriver session along with its network process, so the app keeps that
    // process under WebDriver (tray_memory.rs). Here Keyfob runs as users start it, and its
    // window is read back over the accessibility bus, as a screen reader reads it.
    const app = spawn(binary, [], { env, stdio: 'ignore' });
    cleanups.push(() => app.kill());
    const pid = app.pid;
    const listed = () => accessibleNames(pid).some(([, name]) => name.includes(EMAIL));
    const webkit = () => childProcesses(pid).filter((p) => p.name.startsWith('WebKit'));
    await until(async () => listed(), 30000, 'the window to list the account (read over AT-SPI)');
    for (const round of ['first', 'second']) {
      check(webkit().some((p) => p.name.startsWith('WebKitNetworkPr')), `the open window has a network process (${round} time)`);
      check(closeWindow(pid) === 1, `the close button was pressed (${round} time)`);
      const ended = await until(async () => webkit().length === 0, 15000, 'WebKit\'s processes to end').then(() => true, () => false);
      check(ended, `no WebKit process is left in the tray, the network process neither (${round} time; ${JSON.stringify(webkit())})`);
      check(alive(pid) && !listed(), `Keyfob runs on in the tray with no window (${round} time)`);
      if (round === 'first') console.log(`e2e:   (PSS in the tray: ${pssMb([pid]).toFixed(0)} MB, debug build)`);
      clickTrayEntry(await trayItem(), 'Open Keyfob');
      const reopened = await until(async () => listed(), 30000, 'the reopened window to list the account').then(() => true, () => false);
      check(reopened, `the window opened again lists the account: its page loaded and its commands answer (${round} time)`);
    }
    clickTrayEntry(await trayItem(), 'Quit');
    const quit = await until(async () => !alive(pid), 10000, 'Keyfob to quit').then(() => true, () => false);
    check(quit, 'Keyfob quit from its tray menu');
  });

  console.log('e2e: steps and their times:');
  for (const [name, ms] of timings) console.log(`e2e:   ${(ms / 1000).toFixed(1).padStart(5)} s  ${name}`);
  console.log(`e2e: passed; screenshots in ${artifacts}`);
}

const timer = setTimeout(() => {
  console.error(`e2e: timed out during: ${currentStep}`);
  process.exit(1);
}, 540000);

main()
  .then(() => (process.exitCode = 0))
  .catch((e) => {
    console.error(`e2e: FAILED during: ${currentStep}\n${e.stack ?? e}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (process.exitCode && failureShot) await failureShot().catch(() => undefined);
    if (process.exitCode && failureLog) {
      try {
        failureLog();
      } catch {
        /* best effort */
      }
    }
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        /* best effort */
      }
    }
    clearTimeout(timer);
    await sleep(100);
    process.exit(process.exitCode);
  });
