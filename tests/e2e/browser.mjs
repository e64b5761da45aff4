#!/usr/bin/env node
// The "system browser" of the end-to-end test. The test registers this script as the default
// web browser of its private desktop session (a .desktop file + mimeapps.list), so the app's
// `xdg-open <address>` lands here, exactly as it would land in Firefox or Chrome. The address
// is Keyfob's one-time start address (http://127.0.0.1:<port>/start); this script logs its
// whole argv (the test checks that nothing of the authorization request is in it).
//
// It drives a real Chromium (Debian's, through playwright-core) to the start address, which
// redirects it to the provider, and through the local provider's real sign-in and consent
// pages. Then, by redirect mode:
// - `dev.keyfob.app:...`: it catches the redirect that a desktop browser would hand to the
//   OS and hands it to Keyfob the way the OS does: by running the app binary with the URL as
//   its only argument (single-instance forwards it to a running Keyfob; otherwise this starts
//   Keyfob, which finds the URL in its argv).
// - `http://127.0.0.1:<port>/...` (loopback): Chromium follows it to Keyfob's listener, like
//   any browser.
// Any other address is a provider's code page (linking with a code, RFC 8628): it enters the
// plan's userCode there, signs in and approves or denies; nothing comes back to Keyfob through
// the browser (Keyfob polls the provider).
//
// Environment (set by run.mjs, inherited through the app and xdg-open):
//   E2E_APP_BINARY   the app binary to run with the callback URL
//   E2E_BROWSER_LOG  a file to append JSON progress lines to (never the URL: it holds the code)
//   E2E_BROWSER_GATE optional file to wait for before delivering (lets the test look at the
//                    waiting state first)
//   E2E_LOGIN        the user name to sign in as
//   E2E_BROWSER_SECRETS optional file to append, per sign-in, the values that must never reach
//                    Keyfob's webview: the request's state and nonce, the callback URL and its
//                    code and state (JSON lines; the test checks the page's IPC against them)
//   E2E_BROWSER_PLAN optional JSON file read at each run:
//                    {"consent": "approve" | "deny", "login": "user name (default E2E_LOGIN)",
//                     "userCode": "the code to enter when the address is a code page"}
//
// It knows two providers' pages: the local OpenID provider's (tests/idp) and the GitHub
// stand-in's (tests/github: a login form, then "authorize" buttons with values 1 and 0).

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const SCHEME = 'dev.keyfob.app:';
const url = process.argv[2];
const log = (event, extra = {}) => {
  const line = JSON.stringify({ at: new Date().toISOString(), event, ...extra });
  if (process.env.E2E_BROWSER_LOG) appendFileSync(process.env.E2E_BROWSER_LOG, `${line}\n`);
};

function plan() {
  const file = process.env.E2E_BROWSER_PLAN;
  return file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

/** The redirect URI's origin and path if it is a loopback one, else null. */
function loopbackOf(authorizationUrl) {
  const redirect = new URL(authorizationUrl).searchParams.get('redirect_uri') ?? '';
  if (!redirect.startsWith('http://127.0.0.1:')) return null;
  const uri = new URL(redirect);
  return `${uri.origin}${uri.pathname}`;
}

/**
 * Opens the start address in Chromium, which follows it to the provider, and signs in.
 * Returns the authorization URL the start address led to, and the callback.
 */
async function signIn(startAddress) {
  const { consent = 'approve', login: user = process.env.E2E_LOGIN ?? 'alice' } = plan();
  const browser = await chromium.launch({
    executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    let callback = null;
    let authorizationUrl = null;
    let loopback = null;
    // The start address answers with a redirect to the authorization URL: note it (the
    // request's state and nonce are in it), and whether the link comes back over loopback.
    // The provider answers with a redirect to the private-use scheme; Chromium would ask the
    // OS to open it. Catch it at the response, before Chromium gives up on the scheme.
    // A loopback redirect is followed; what counts is the listener's answer.
    const caught = new Promise((resolve) => {
      page.on('response', (response) => {
        const location = response.headers()['location'];
        if (authorizationUrl === null && response.url() === startAddress) {
          if (!location) return;
          authorizationUrl = location;
          loopback = loopbackOf(location);
          const to = new URL(location);
          log('started', { status: response.status(), host: to.host, path: to.pathname, loopback: loopback !== null });
          return;
        }
        if (!loopback && location && location.toLowerCase().startsWith(SCHEME)) {
          callback = location;
          resolve(location);
        }
        if (loopback && response.url().startsWith(loopback)) {
          callback = response.url();
          resolve({ status: response.status(), url: callback });
        }
      });
    });
    await page.goto(startAddress).catch(() => undefined);
    if (authorizationUrl === null) throw new Error(`the start address did not redirect (${page.url()})`);
    for (let step = 0; step < 10 && callback === null; step += 1) {
      await page.waitForLoadState('domcontentloaded').catch(() => undefined);
      if (callback !== null) break;
      if (await answerSignIn(page, user, consent)) continue;
      throw new Error(`unexpected page: ${(await page.title()) || page.url()}`);
    }
    const result = await Promise.race([
      caught,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no redirect to the app')), 15000)),
    ]);
    return { authorizationUrl, loopback, result };
  } finally {
    await browser.close();
  }
}

/** Answers a provider's login or consent page; false when the page is neither. */
async function answerSignIn(page, user, consent) {
  const login = page.locator('input[name="login"]');
  if (await login.count()) {
    log('login-page');
    await login.fill(user);
    const password = page.locator('input[name="password"]');
    if (await password.count()) await password.fill('password');
    await Promise.all([
      page.waitForNavigation().catch(() => undefined),
      page.locator('button[type="submit"], input[type="submit"]').first().click(),
    ]);
    return true;
  }
  // GitHub's authorization page: "Cancel" (authorize=0) and "Authorize" (authorize=1).
  const authorize = page.locator('button[name="authorize"]');
  if (await authorize.count()) {
    log('consent-page', { consent });
    const choice = page.locator(`button[name="authorize"][value="${consent === 'deny' ? '0' : '1'}"]`);
    await Promise.all([page.waitForNavigation().catch(() => undefined), choice.click()]);
    return true;
  }
  const submit = page.locator('form button[type="submit"]');
  if (await submit.count()) {
    log('consent-page', { consent });
    // "Deny" is the consent page's "[ Cancel ]" link: the provider then redirects back
    // with error=access_denied (or, in the device flow, tells the polling client so).
    const choice = consent === 'deny' ? page.locator('a[href$="/abort"]').first() : submit.first();
    await Promise.all([page.waitForNavigation().catch(() => undefined), choice.click()]);
    return true;
  }
  return false;
}

/**
 * Linking with a code: the address is the provider's code page (its verification URI). Enters
 * the code the plan names (the test read it off Keyfob's window, as a user would), confirms it,
 * signs in and answers the consent page; ends on the provider's closing page.
 */
async function enterCode(address) {
  const { consent = 'approve', login: user = process.env.E2E_LOGIN ?? 'alice', userCode } = plan();
  if (!userCode) throw new Error('the plan names no userCode to enter');
  const browser = await chromium.launch({
    executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(address);
    let entered = false;
    for (let step = 0; step < 12; step += 1) {
      await page.waitForLoadState('domcontentloaded').catch(() => undefined);
      const submit = page.locator('button[type="submit"]:not([name="abort"])').first();
      // "Is this the code your device shows?" (the code comes back in a hidden field): yes.
      if (await page.locator('input[name="confirm"]').count()) {
        log('code-confirm-page');
        await Promise.all([page.waitForNavigation().catch(() => undefined), submit.click()]);
        continue;
      }
      const codeInput = page.locator('input[name="user_code"]:not([type="hidden"])');
      // Once the code is in, the code form again is an end page (oidc-provider shows it,
      // with the outcome, after a denial): fall through to the end.
      if (!entered && (await codeInput.count())) {
        entered = true;
        log('code-page');
        await codeInput.fill(userCode);
        await Promise.all([page.waitForNavigation().catch(() => undefined), submit.click()]);
        continue;
      }
      if (await answerSignIn(page, user, consent)) continue;
      const text = ((await page.textContent('body')) ?? '').replace(/\s+/g, ' ').trim();
      log('code-done', { entered, text: text.slice(0, 200) });
      return;
    }
    throw new Error('no end page after entering the code');
  } finally {
    await browser.close();
  }
}

/** Notes what the test must never find in the page (see E2E_BROWSER_SECRETS). */
function noteSecrets(authorizationUrl, callback) {
  const file = process.env.E2E_BROWSER_SECRETS;
  if (!file) return;
  const request = new URL(authorizationUrl).searchParams;
  const answer = callback ? new URL(callback).searchParams : new URLSearchParams();
  const line = {
    state: request.get('state'),
    nonce: request.get('nonce'),
    callback,
    code: answer.get('code'),
    callbackState: answer.get('state'),
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

async function waitForGate() {
  const gate = process.env.E2E_BROWSER_GATE;
  if (!gate) return;
  const until = Date.now() + 60000;
  while (!existsSync(gate)) {
    if (Date.now() > until) throw new Error('the test never opened the gate');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  if (!url) throw new Error('usage: browser.mjs URL');
  // The whole command line, as any local user can read it in /proc/PID/cmdline.
  log('opened', { argv: process.argv.slice(2), host: new URL(url).host, path: new URL(url).pathname });
  // Anything but Keyfob's start address is a provider's code page (linking with a code).
  if (new URL(url).pathname !== '/start') {
    await enterCode(url);
    return;
  }
  const { authorizationUrl, loopback, result } = await signIn(url);
  if (loopback) {
    noteSecrets(authorizationUrl, result.url);
    log('loopback-answered', { status: result.status });
    return;
  }
  noteSecrets(authorizationUrl, result);
  log('redirected', { scheme: new URL(result).protocol });
  await waitForGate();
  // What the OS does with a private-use scheme URL: start the registered app with it. A
  // running Keyfob takes it over and this process exits at once; otherwise this process
  // becomes Keyfob (a cold start) and keeps running. The test tells the two apart by what it
  // sees (an exit, or the process holding Keyfob's name), so this waits for the exit however
  // long it takes and reports both moments.
  const app = spawn(process.env.E2E_APP_BINARY, [result], { stdio: 'ignore', detached: true });
  log('launched', { pid: app.pid });
  const [code, signal] = await new Promise((resolve) => app.on('exit', (c, s) => resolve([c, s])));
  log('delivered', { exitCode: code, signal, pid: app.pid });
}

main().catch((e) => {
  log('failed', { error: String(e && e.message ? e.message : e) });
  process.exit(1);
});
