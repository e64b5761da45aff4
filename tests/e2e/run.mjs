// End-to-end test of Keyfob's real window (run it through tests/e2e/run.sh, which provides a
// private D-Bus session with an unlocked keyring and an X display).
//
// The built app runs under WebKitWebDriver. A real Chromium, registered as the session's web
// browser, signs in at the local OpenID provider and hands the redirect back to the app the
// way the OS does. The test drives the UI like a user: adds the provider, links an account,
// copies a token (checked at the provider), sees a forged callback refused, and unlinks.
// Then it sets up the GitHub preset from the link dialog (against the local GitHub stand-in as
// a GitHub Enterprise Server), links octocat through the loopback redirect and unlinks.
// Screenshots of each state go to tests/artifacts/e2e/.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appPids, keyfobRunning, readClipboard, registerBrowser, writeClipboard } from './lib/desktop.mjs';
import { startGithub } from './lib/github.mjs';
import { startIdp } from './lib/idp.mjs';
import { newSession, sleep, startDriver, until } from './lib/webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const binary = process.env.KEYFOB_APP_BINARY ?? join(targetDir, 'debug/keyfob-app');
/** The `keyfob` command line, which changes the profile behind the window's back. */
const cli = process.env.KEYFOB_CLI_BINARY ?? join(targetDir, 'debug/keyfob');
const artifacts = join(root, 'tests/artifacts/e2e');
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

const cleanups = [];
let step = 'start';
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
  step = text;
  console.log(`e2e: ${text}`);
};
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
  const browserLog = join(work, 'browser.log');
  failureLog = () => existsSync(browserLog) && copyFileSync(browserLog, join(artifacts, 'failure-browser.log'));
  const gate = join(work, 'gate');
  const plan = join(work, 'browser-plan.json');
  registerBrowser(join(here, 'browser.mjs'));

  const env = {
    ...process.env,
    KEYFOB_HOME: home,
    KEYFOB_CLIPBOARD_CLEAR_SECONDS: String(CLIPBOARD_CLEAR_SECONDS),
    E2E_APP_BINARY: binary,
    E2E_BROWSER_LOG: browserLog,
    E2E_BROWSER_GATE: gate,
    E2E_LOGIN: LOGIN,
    E2E_BROWSER_PLAN: plan,
  };
  const accountsFile = join(home, 'data/accounts.json');
  const browserEvents = () =>
    existsSync(browserLog)
      ? readFileSync(browserLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      : [];

  // Ends a WebDriver session and makes sure its Keyfob is gone, so that the next launch does
  // not hand over to it (single instance). Deleting the session usually closes the window and
  // the app with it; if the app lingers, it is stopped the way the desktop would.
  const closeApp = async (session, driver) => {
    await session.close();
    try {
      await until(async () => !keyfobRunning(), 5000, 'Keyfob to quit');
    } catch {
      console.log('e2e: (the app outlived its WebDriver session; stopping it)');
      for (const pid of appPids(binary, home)) process.kill(pid, 'SIGTERM');
      await until(async () => !keyfobRunning(), 10000, 'Keyfob to quit after SIGTERM');
    }
    driver.stop();
  };

  say('launching the app under WebKitWebDriver');
  const driver = await startDriver(env);
  cleanups.push(() => driver.stop());
  let s = await newSession(driver, binary);
  cleanups.push(() => s.close());
  const shot = async (name) => writeFileSync(join(artifacts, `${name}.png`), await s.screenshot());
  failureShot = async () => writeFileSync(join(artifacts, 'failure.png'), await s.screenshot());

  await s.waitFor('#empty-state', { what: 'the empty state' });
  const emptyText = await (await s.find('#empty-state')).text();
  check(/No accounts linked yet/.test(emptyText), 'the empty state explains what to do');
  check((await s.findAll('#keyring-banner')).length === 0, 'the keyring works (no warning banner)');
  await shot('01-empty-state');

  say('checking what the page may do');
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

  say('adding the provider through the settings UI');
  await s.click('#open-providers');
  await (await s.waitFor('#add-provider')).click();
  await s.waitFor('#provider-name');
  const fill = async (css, text) => {
    const el = await s.find(css);
    await el.clear();
    await el.type(text);
  };
  await fill('#provider-name', 'Local IdP');
  await fill('#provider-id', 'local');
  await fill('#provider-issuer', idp.issuer);
  await fill('#provider-client-id', 'keyfob-native');
  await fill('#provider-scopes', 'openid email profile offline_access');
  await fill('#provider-params', 'prompt=consent');
  const redirectShown = await (await s.find('#provider-redirect-uri')).text();
  check(redirectShown === 'dev.keyfob.app:/oauth/local', `the form shows the redirect URI (${redirectShown})`);
  await shot('02-add-provider');
  await s.click('#provider-save');
  await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]', { what: 'the provider in the list' });
  await shot('03-providers');
  await s.click('#providers-dialog .dialog-buttons .btn-primary');
  await s.waitGone('#providers-dialog[open]');

  say('linking an account through the system browser');
  await (await s.waitFor('#link-account')).click();
  await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]', {
    what: 'the provider preselected',
  });
  await shot('04-link-dialog');
  await s.click('#link-start');
  await s.waitFor('#link-cancel', { what: 'the waiting state' });
  await until(
    async () => browserEvents().find((e) => e.event === 'redirected' || e.event === 'failed'),
    45000,
    'Chromium to sign in at the provider',
  );
  const failed = browserEvents().find((e) => e.event === 'failed');
  check(!failed, `the browser signed in (${failed?.error})`);
  check(browserEvents().some((e) => e.event === 'login-page'), 'the provider showed its real login page');
  await shot('05-waiting-for-browser');
  writeFileSync(gate, '');

  const row = await s.waitFor('.account-row', { timeout: 30000, what: 'the new account row' });
  await s.waitGone('#link-dialog[open]');
  const accountId = await row.attr('data-account-id');
  const name = await s.script("return document.querySelector('.account-row .account-name').textContent");
  check(name === EMAIL, `the row shows the identity (${name})`);
  const chips = await Promise.all((await s.findAll('.account-row .chip')).map((c) => c.text()));
  for (const scope of ['openid', 'email', 'profile', 'offline_access']) {
    check(chips.includes(scope), `scope ${scope} is shown as a chip (${chips})`);
  }
  const expiry = await (await s.find('.account-row .expiry')).text();
  check(/^expires in (1 h|59 min)$/.test(expiry), `the expiry is shown (${expiry})`);
  check((await s.findAll('.account-row.highlight')).length === 1, 'the new account is highlighted');
  check((await s.findAll(`[data-key="refresh-${accountId}"]`)).length === 1, 'an account with a refresh token offers Refresh');
  // The running app may show the account before the process that handed the URL over has
  // exited and been reaped, so wait for that report instead of expecting it already.
  const handedOver = await until(async () => browserEvents().find((e) => e.event === 'delivered'), 15000, 'the hand-over report');
  check(handedOver.exitCode === 0, `the second instance handed over and exited (${JSON.stringify(handedOver)})`);
  await shot('06-account-linked');

  say('copying a token');
  await s.click(`[data-key="copy-${accountId}"]`);
  await until(async () => (await (await s.find(`[data-key="copy-${accountId}"]`)).text()).includes('Copied'), 5000, 'the Copied confirmation');
  const token = readClipboard();
  check(token.length > 20, 'the clipboard holds a token');
  const html = await s.script('return document.documentElement.outerHTML');
  check(!html.includes(token), 'the token never reached the webview');
  const userinfo = await idp.userinfo(token);
  check(userinfo.status === 200 && userinfo.body?.email === EMAIL, `the provider accepts the token at userinfo (${userinfo.status})`);
  const introspection = await idp.introspect(token);
  check(introspection.active === true && introspection.client_id === 'keyfob-native', 'introspection says the token is active');
  await shot('07-token-copied');

  say(`waiting for the clipboard to be cleared (${CLIPBOARD_CLEAR_SECONDS} s)`);
  await until(async () => readClipboard() === '', (CLIPBOARD_CLEAR_SECONDS + 5) * 1000, 'the clipboard to be cleared');
  await s.waitGone('.toast'); // the README shows this calm state
  await shot('08-account-list');

  say('copying again, then copying something else: Keyfob leaves that alone');
  await s.click(`[data-key="copy-${accountId}"]`);
  await until(async () => readClipboard().length > 20, 5000, 'the token on the clipboard');
  writeClipboard(USER_TEXT);
  await sleep((CLIPBOARD_CLEAR_SECONDS + 2) * 1000);
  check(readClipboard() === USER_TEXT, 'the clipboard is cleared only while it holds the token');

  say('delivering a forged callback');
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
  const after = await s.script('return document.documentElement.outerHTML');
  check(!after.includes('forged-code-123') && !after.includes('forged-state-456'), 'the callback URL never reached the webview');

  say('denying access at the provider');
  let mark = browserEvents().length;
  const since = () => browserEvents().slice(mark);
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

  say('cancelling a link: its late callback is refused');
  rmSync(gate);
  mark = browserEvents().length;
  const beforeCancel = readFileSync(accountsFile, 'utf8');
  await s.click('#link-account');
  await (await s.waitFor('#link-start')).click();
  await s.waitFor('#link-cancel');
  await until(async () => since().find((e) => e.event === 'redirected'), 45000, 'Chromium to sign in');
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

  say('re-linking while Keyfob is closed: the callback cold-starts the app');
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
  const codesBefore = (await idp.stats()).token.authorization_code;
  const linkedBefore = readFileSync(accountsFile, 'utf8');
  check(keyfobRunning(), 'Keyfob holds its single-instance name while it runs');
  await closeApp(s, driver);
  writeFileSync(gate, '');
  const delivered = await until(async () => since().find((e) => e.event === 'delivered'), 30000, 'the delivery');
  check(delivered.stillRunning === true, 'with no Keyfob running, the callback URL started it');
  await until(
    async () => (await idp.stats()).token.authorization_code === codesBefore + 1 && readFileSync(accountsFile, 'utf8') !== linkedBefore,
    20000,
    'the cold-started app to complete the link',
  );
  check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 1, 're-linking kept one account');
  process.kill(delivered.pid, 'SIGTERM');
  await until(async () => !alive(delivered.pid), 10000, 'the cold-started app to exit');
  await until(async () => !keyfobRunning(), 15000, 'Keyfob to release its name');

  say('switching the provider to a loopback redirect in the settings (dark theme)');
  const dark = await startDriver({ ...env, GTK_THEME: 'Adwaita:dark' });
  cleanups.push(() => dark.stop());
  s = await newSession(dark, binary);
  await s.waitFor('.account-row');
  check(await s.script('return matchMedia("(prefers-color-scheme: dark)").matches'), 'the window follows the dark theme');
  await shot('12-dark-account-list');
  await s.click('#open-providers');
  await (await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"] button')).click();
  await s.waitFor('#provider-redirect');
  await s.click('#provider-redirect option[value="loopback"]');
  const loopbackShown = await (await s.find('#provider-redirect-uri')).text();
  check(loopbackShown === 'http://127.0.0.1/oauth/local', `the form shows the loopback redirect URI (${loopbackShown})`);
  await shot('13-dark-edit-provider');
  await s.click('#provider-save');
  await s.waitFor('#providers-dialog .provider-row[data-provider-id="local"]');
  await s.click('#providers-dialog .dialog-buttons .btn-primary');
  await s.waitGone('#providers-dialog[open]');

  say('linking through the loopback redirect');
  mark = browserEvents().length;
  const codesBeforeLoopback = (await idp.stats()).token.authorization_code;
  await s.click('#link-account');
  await s.waitFor('#link-dialog .provider-option[data-provider-id="local"][aria-checked="true"]');
  await s.waitFor('#link-dialog .provider-option[data-preset="github"]', { what: 'the presets in the dark picker' });
  await shot('14a-dark-link-picker');
  await s.click('#link-start');
  const answered = await until(
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
  const latest = await until(async () => {
    const t = readClipboard();
    return t !== '' && t !== token && t !== USER_TEXT ? t : null;
  }, 10000, 'the new token on the clipboard');
  check((await idp.introspect(latest)).active === true, 'the token of the loopback link works');

  say('reopening in the light theme with the default clipboard delay');
  await closeApp(s, dark);
  const { KEYFOB_CLIPBOARD_CLEAR_SECONDS: _short, ...defaults } = env;
  const light = await startDriver(defaults);
  cleanups.push(() => light.stop());
  s = await newSession(light, binary);
  await s.waitFor('.account-row');
  const note = await s.script("return document.querySelector('.list-note').textContent");
  check(/after 30 s/.test(note), `copied tokens are cleared after 30 s by default (${note})`);
  await shot('15-account-list'); // the README shows this one

  say('unlinking');
  const statsBefore = await idp.stats();
  await s.click(`[data-key="unlink-${accountId}"]`);
  await s.waitFor('#confirm-ok');
  await shot('16-confirm-unlink');
  await s.click('#confirm-ok');
  await s.waitFor('#empty-state', { what: 'the empty state after unlinking' });
  const statsAfter = await idp.stats();
  check(statsAfter.revocation === statsBefore.revocation + 1, 'the provider received the revocation');
  check(JSON.parse(readFileSync(accountsFile, 'utf8')).accounts.length === 0, 'the account is gone from the file');
  const revoked = await idp.introspect(latest);
  check(revoked.active === false, 'the unlinked account’s token no longer works');

  say('linking a GitHub account through the preset (GitHub Enterprise URL, loopback redirect)');
  // Registered the way the setup form says: an OAuth App whose callback is the loopback URL
  // (any port). The Enterprise provider id names the path.
  const github = await startGithub(join(root, 'tests/github/server.mjs'), join(work, 'github.json'), {
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
  const oauthAppCallback = await s.script("return document.querySelector('#preset-callbacks code').textContent");
  check(oauthAppCallback === 'http://127.0.0.1/oauth/github', `the form shows the OAuth App callback (${oauthAppCallback})`);
  await s.click('#preset-github-app');
  const appCallbacks = await s.script("return [...document.querySelectorAll('#preset-callbacks code')].map((c) => c.textContent)");
  check(
    JSON.stringify(appCallbacks) === JSON.stringify(['dev.keyfob.app:/oauth/github', 'http://127.0.0.1:47213/oauth/github']),
    `a GitHub App needs both exact callbacks (${appCallbacks})`,
  );
  await s.click('#preset-github-app');
  await fill('#preset-client-id', GITHUB_CLIENT_ID);
  await fill('#preset-client-secret', GITHUB_CLIENT_SECRET);
  await fill('#preset-enterprise-url', github.base);
  const enterpriseCallback = await s.script("return document.querySelector('#preset-callbacks code').textContent");
  check(enterpriseCallback === GITHUB_CALLBACK, `the callback follows the Enterprise provider id (${enterpriseCallback})`);
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
  const githubAccountId = await githubRow.attr('data-account-id');
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
  await s.waitGone('.toast');
  await shot('19-github-linked');

  say('unlinking the GitHub account from the keyfob command line: the window follows');
  // Nothing touches the window here: it has to notice the change on its own.
  const unlinked = spawnSync(cli, ['unlink', githubAccountId], { env, encoding: 'utf8', timeout: 30000 });
  check(unlinked.status === 0, `keyfob unlink succeeded (${unlinked.status}: ${unlinked.stderr})`);
  check(/Unlinked octocat/.test(unlinked.stderr), `keyfob unlink says what it did (${unlinked.stderr.trim()})`);
  check((await github.stats()).delete_grant === 1, 'the GitHub stand-in received DELETE /applications/{client_id}/grant');
  await s.waitFor('#empty-state', { timeout: 10000, what: 'the window to show the account gone' });
  await shot('20-unlinked-from-the-cli');
  rmSync(plan);
  await closeApp(s, light);

  console.log(`e2e: passed; screenshots in ${artifacts}`);
}

const timer = setTimeout(() => {
  console.error(`e2e: timed out during: ${step}`);
  process.exit(1);
}, 300000);

main()
  .then(() => (process.exitCode = 0))
  .catch((e) => {
    console.error(`e2e: FAILED during: ${step}\n${e.stack ?? e}`);
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
