// A local stand-in for GitHub's OAuth web flow and the REST endpoints Keyfob
// uses, reproducing GitHub's documented behaviour (see QUIRKS.md next to this
// file for every behaviour and the page it comes from).
//
//   node tests/github/server.mjs [config.json]
//
// No npm dependencies. Listens on 127.0.0.1 (an ephemeral port unless
// GITHUB_FAKE_PORT is set) and, once ready, prints exactly one JSON line on
// stdout:
//
//   {"base":"http://127.0.0.1:PORT","api":"http://127.0.0.1:PORT/api/v3","port":PORT}
//
// The web paths (github.com) are served at `/`, the REST API (api.github.com)
// under `/api/v3`, like GitHub Enterprise Server. Logs go to stderr
// (GITHUB_FAKE_VERBOSE=1 logs every request). The process exits when stdin
// closes (unless IDP_IGNORE_STDIN=1) and on SIGTERM / SIGINT.
//
// Config (argv[2], JSON, merged over the defaults):
//   apps:  [{client_id, client_secret, kind: "oauth_app"|"github_app", expiring,
//            callback_urls: [url | {url, wildcard}], loopback_any_port}]
//          an app whose client_id matches a default app replaces it.
//   users: [{login, id, name, email, email_verified}] (replace the defaults)
//   ttl:   {access: 28800, refresh: 15897600, code: 600, device_code: 900}
//   offline_access: true   (the `offline_access` scope opts an OAuth App into expiring tokens)
//   basic_auth: true       (accept client credentials in an Authorization: Basic header)
//   api_versions: ["2022-11-28", "2026-03-10"]
//   iss: true              (callbacks carry iss=<base>/login/oauth, as github.com's have since
//                           2026-04-09; false plays a GitHub Enterprise Server that sends none)
//   token_limit: 10        (live tokens per user, app and scope set; the oldest is revoked)
//   device_interval: 5     (the device flow's polling interval, seconds; apps opt in with
//                           "device_flow": true, as GitHub's "Enable Device Flow" box)
//
// Test hooks:
//   GET  /__test/stats  -> {"token":{"authorization_code":n,"refresh_token":n},"user":n,
//                           "user_without_agent":n,"delete_token":n,"delete_grant":n,
//                           "revoked_by_limit":n}
//   POST /__test/reset  -> zero the counters, forget remembered authorizations and sessions
//   POST /__test/slow_down -> the next device-code poll is answered slow_down whatever its pace
//   POST /__test/expire {"access_token": "..."} -> that token expires now
//                       {"refresh_token": "..."} -> that refresh token expires now

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { announceAndStayTied } from '../node-lib/lifecycle.mjs';

const VERBOSE = process.env.GITHUB_FAKE_VERBOSE === '1';
const log = (...args) => console.error('[github-fake]', ...args);

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

const DEFAULT_APPS = [
  {
    // An OAuth App (classic scopes, non-expiring gho_ tokens by default).
    client_id: 'Iv-oauth-app',
    client_secret: 'oauth-app-secret',
    name: 'Keyfob (OAuth App)',
    kind: 'oauth_app',
    expiring: false,
    callback_urls: [
      // Loopback: any port may be used in redirect_uri ("Loopback redirect urls").
      'http://127.0.0.1/oauth/github',
      // Private-use scheme: GitHub accepts non-HTTP callback URLs (it shows
      // the account picker for them).
      'dev.keyfob.app:/oauth/github',
    ],
  },
  {
    // A GitHub App with "User-to-server token expiration" on (the default).
    client_id: 'Iv1.github-app',
    client_secret: 'github-app-secret',
    name: 'Keyfob (GitHub App)',
    kind: 'github_app',
    expiring: true,
    callback_urls: [
      'http://127.0.0.1/oauth/github',
      'dev.keyfob.app:/oauth/github',
    ],
  },
];

const DEFAULT_USERS = [
  { login: 'octocat', id: 583231, name: 'The Octocat', email: 'octocat@github.com' },
  { login: 'hubot', id: 480938, name: null, email: null },
];

const DOCS = 'https://docs.github.com';
const ERROR_URIS = {
  incorrect_client_credentials: `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials`,
  redirect_uri_mismatch: `${DOCS}/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2`,
  bad_verification_code: `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code`,
  unverified_user_email: `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#unverified_user_email`,
  bad_refresh_token: `${DOCS}/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens`,
  unsupported_grant_type: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps`,
  authorization_pending: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow`,
  slow_down: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow`,
  expired_token: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow`,
  incorrect_device_code: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow`,
  access_denied: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow`,
  device_flow_disabled: `${DOCS}/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow`,
};
const ERROR_DESCRIPTIONS = {
  incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
  redirect_uri_mismatch: 'The redirect_uri MUST match the registered callback URL for this application.',
  bad_verification_code: 'The code passed is incorrect or expired.',
  unverified_user_email: 'The user must have a verified primary email.',
  bad_refresh_token: 'The refresh token passed is incorrect or expired.',
  unsupported_grant_type: 'The grant type is not supported.',
  authorization_pending: 'The authorization request is still pending.',
  slow_down: 'Too many requests have been made in the same timeframe.',
  expired_token: 'The device_code has expired.',
  incorrect_device_code: 'The device_code provided is not valid.',
  access_denied: 'The authorization request was denied.',
  device_flow_disabled: 'Device Flow must be explicitly enabled for this App',
};
const AUTHZ_ERROR_URI = '/apps/building-integrations/setting-up-and-registering-oauth-apps/troubleshooting-authorization-request-errors/';

function normaliseApp(app) {
  if (!app || typeof app.client_id !== 'string') throw new TypeError('every app needs a client_id');
  const kind = app.kind ?? 'oauth_app';
  if (kind !== 'oauth_app' && kind !== 'github_app') throw new TypeError(`app ${app.client_id}: unknown kind ${kind}`);
  const callbacks = (app.callback_urls ?? []).map((c) => {
    const entry = typeof c === 'string' ? { url: c } : { ...c };
    if (typeof entry.url !== 'string') throw new TypeError(`app ${app.client_id}: bad callback ${JSON.stringify(c)}`);
    // "all OAuth apps ... created before that date have wildcard matching enabled";
    // GitHub Apps created now use exact matching unless it is turned on.
    if (entry.wildcard === undefined) entry.wildcard = kind === 'oauth_app';
    return entry;
  });
  if (callbacks.length === 0) throw new TypeError(`app ${app.client_id}: needs at least one callback URL`);
  return {
    name: app.client_id,
    client_secret: null,
    // "Enable Device Flow" is a checkbox in the app's settings, off unless ticked.
    device_flow: false,
    expiring: kind === 'github_app',
    // The loopback any-port rule is documented for OAuth Apps only.
    loopback_any_port: kind === 'oauth_app',
    ...app,
    kind,
    callbacks,
  };
}

function loadConfig(path) {
  const config = {
    apps: DEFAULT_APPS,
    users: DEFAULT_USERS,
    ttl: { access: 28800, refresh: 15897600, code: 600, device_code: 900 },
    device_interval: 5,
    offline_access: true,
    basic_auth: true,
    api_versions: ['2022-11-28', '2026-03-10'],
    iss: true,
    token_limit: 10,
  };
  if (path) {
    const user = JSON.parse(fs.readFileSync(path, 'utf8'));
    if (user.apps !== undefined) {
      if (!Array.isArray(user.apps)) throw new TypeError('config.apps must be an array');
      const byId = new Map(config.apps.map((a) => [a.client_id, a]));
      for (const app of user.apps) byId.set(app.client_id, app);
      config.apps = [...byId.values()];
    }
    if (user.users !== undefined) {
      if (!Array.isArray(user.users)) throw new TypeError('config.users must be an array');
      config.users = user.users;
    }
    if (user.ttl !== undefined) Object.assign(config.ttl, user.ttl);
    if (user.token_limit !== undefined) config.token_limit = Number(user.token_limit);
    if (user.device_interval !== undefined) config.device_interval = Number(user.device_interval);
    for (const key of ['offline_access', 'basic_auth', 'iss']) {
      if (user[key] !== undefined) config[key] = Boolean(user[key]);
    }
    if (user.api_versions !== undefined) config.api_versions = user.api_versions;
  }
  config.apps = config.apps.map(normaliseApp);
  config.users = config.users.map((u) => ({ name: null, email: null, email_verified: true, ...u }));
  return config;
}

const config = loadConfig(process.argv[2]);
const appsById = new Map(config.apps.map((a) => [a.client_id, a]));
const usersByLogin = new Map(config.users.map((u) => [u.login.toLowerCase(), u]));

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

function zeroStats() {
  return {
    token: { authorization_code: 0, refresh_token: 0, device_code: 0 },
    device: { codes: 0, slow_down: 0, pending: 0 },
    user: 0,
    user_without_agent: 0,
    delete_token: 0,
    delete_grant: 0,
    revoked_by_limit: 0,
  };
}
let stats = zeroStats();

/** session id -> login */
let sessions = new Map();
/** pending authorization id -> {params, app, redirectUri, session} */
const pending = new Map();
/** "client_id login" -> Set of granted scopes (remembered authorizations) */
let grants = new Map();
/** code -> {...} */
const codes = new Map();
/** access token -> {...} */
const accessTokens = new Map();
/** refresh token -> {...} */
const refreshTokens = new Map();
/** device code -> {app, scopes, userCode, expires, interval, lastPoll, state, user} */
const deviceCodes = new Map();
/** user code -> device code */
const userCodes = new Map();
/** Test hook: the next device-code polls answered `slow_down` whatever their pace. */
let forcedSlowDowns = 0;

const now = () => Date.now();
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomChars(n) {
  const bytes = crypto.randomBytes(n);
  let out = '';
  for (let i = 0; i < n; i += 1) out += TOKEN_ALPHABET[bytes[i] % TOKEN_ALPHABET.length];
  return out;
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function send(res, status, contentType, body, headers = {}) {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function sendJson(res, status, body, headers = {}) {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}

function sendHtml(res, status, title, bodyHtml, headers = {}) {
  const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body>${bodyHtml}</body></html>`;
  send(res, status, 'text/html; charset=utf-8', page, headers);
}

function redirect(res, location, headers = {}) {
  res.writeHead(302, { location, 'content-length': 0, 'cache-control': 'no-store', ...headers });
  res.end();
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Form or JSON body as a plain object of strings (first value wins). */
function parseBody(req, text) {
  const type = (req.headers['content-type'] || '').toLowerCase();
  if (!text.trim()) return {};
  if (type.includes('application/json')) {
    const value = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v == null ? '' : String(v)]));
  }
  const out = {};
  for (const [k, v] of new URLSearchParams(text)) if (!(k in out)) out[k] = v;
  return out;
}

function cookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function basicAuth(req) {
  const header = req.headers.authorization || '';
  const m = /^basic\s+(.+)$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  // RFC 6749 2.3.1 form-encodes both parts; plain values decode to themselves.
  const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
  return { id: dec(decoded.slice(0, colon)), secret: dec(decoded.slice(colon + 1)) };
}

const timingSafeEqual = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
};

// ---------------------------------------------------------------------------
// Redirect URI rules
// ---------------------------------------------------------------------------

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function parseUrl(s) {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** Does `candidate` match the registered callback `cb` for `app`? */
function callbackMatches(app, cb, candidate) {
  if (candidate === cb.url) return true;
  const reg = parseUrl(cb.url);
  const got = parseUrl(candidate);
  if (!reg || !got) return false;
  if (got.username || got.password || got.hash) return false;
  if (reg.protocol !== got.protocol) return false;
  const special = reg.protocol === 'http:' || reg.protocol === 'https:';
  if (!special) {
    // Private-use scheme: exact match only (already compared above), modulo
    // wildcard subdirectories.
    if (!cb.wildcard) return false;
    return got.host === reg.host && isSubPath(reg.pathname, got.pathname) && got.search === reg.search;
  }
  // Loopback: "The redirect_uri does not need to match the port specified in
  // the callback URL for the app." (documented for OAuth Apps).
  const loopback = reg.protocol === 'http:' && LOOPBACK_HOSTS.has(reg.hostname) && app.loopback_any_port;
  const portOk = loopback ? true : got.port === reg.port;
  if (!portOk) return false;
  if (!cb.wildcard) {
    // Exact match (the port aside for loopback).
    return got.hostname === reg.hostname && got.pathname === reg.pathname && got.search === reg.search;
  }
  // Wildcard matching: "host (excluding sub-domains) and port must exactly
  // match the callback URL. The redirect URL's path must reference a
  // subdirectory of the callback URL."
  const hostOk = got.hostname === reg.hostname
    || (!loopback && got.hostname.endsWith(`.${reg.hostname}`));
  return hostOk && isSubPath(reg.pathname, got.pathname);
}

function isSubPath(base, path) {
  if (path === base) return true;
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return path.startsWith(prefix);
}

function redirectAllowed(app, candidate) {
  return app.callbacks.some((cb) => callbackMatches(app, cb, candidate));
}

/**
 * Parameters of a redirect back to the app. Since 2026-04-09 GitHub appends
 * `iss=https://github.com/login/oauth` (the issuer of its authorization-server
 * metadata, RFC 9207) to every callback, errors included; here that is
 * `<base>/login/oauth`.
 */
function callbackParams(params) {
  return config.iss ? { ...params, iss: `${endpoints.base}/login/oauth` } : params;
}

function withParams(uri, params) {
  // Append query parameters without re-serialising the URI (keeps
  // private-use URIs such as dev.keyfob.app:/oauth/github byte-for-byte).
  const [beforeHash, hash] = uri.split('#', 2);
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
  const sep = beforeHash.includes('?') ? (beforeHash.endsWith('?') || beforeHash.endsWith('&') ? '' : '&') : '?';
  return `${beforeHash}${qs ? sep + qs : ''}${hash !== undefined ? `#${hash}` : ''}`;
}

// ---------------------------------------------------------------------------
// Web flow pages
// ---------------------------------------------------------------------------

function sessionLogin(req) {
  const sid = cookies(req).user_session;
  return sid ? sessions.get(sid) : undefined;
}

function loginPage(res, status, { returnTo, suggested, error, current }) {
  const note = current
    ? `<p>Signed in as <strong>${escapeHtml(current)}</strong>. Pick an account to continue.</p>`
    : '';
  const errorHtml = error ? `<div class="flash-error" role="alert">${escapeHtml(error)}</div>` : '';
  sendHtml(res, status, 'Sign in to GitHub · GitHub', `
<h1>Sign in to GitHub</h1>
${note}${errorHtml}
<form method="post" action="/session">
  <input type="hidden" name="prompt" value="login">
  <input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">
  <label for="login_field">Username or email address</label>
  <input type="text" name="login" id="login_field" value="${escapeHtml(suggested ?? current ?? '')}" autofocus>
  <label for="password">Password</label>
  <input type="password" name="password" id="password">
  <input type="submit" name="commit" value="Sign in">
</form>`);
}

function errorPage(res, status, title, message) {
  sendHtml(res, status, title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

function authorizeGet(req, res, url) {
  const q = Object.fromEntries(url.searchParams);
  const app = appsById.get(q.client_id);
  if (!app) {
    // GitHub shows its 404 page for an unknown client_id.
    return errorPage(res, 404, 'Page not found · GitHub', 'Not Found: this is not the web page you are looking for.');
  }
  const redirectUri = q.redirect_uri || app.callbacks[0].url;
  if (q.redirect_uri && !redirectAllowed(app, q.redirect_uri)) {
    // "GitHub will redirect to the registered callback URL with the following
    // parameters summarizing the error" (Troubleshooting authorization request errors).
    return redirect(res, withParams(app.callbacks[0].url, callbackParams({
      error: 'redirect_uri_mismatch',
      error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
      error_uri: `${AUTHZ_ERROR_URI}#redirect-uri-mismatch`,
      state: q.state,
    })));
  }
  if (q.code_challenge_method !== undefined || q.code_challenge !== undefined) {
    // Each is "Required if code_challenge(_method) is included"; S256 only.
    const problem = q.code_challenge === undefined || q.code_challenge_method === undefined
      ? 'code_challenge and code_challenge_method must be sent together.'
      : q.code_challenge_method !== 'S256'
        ? 'Only the S256 code_challenge_method is supported.'
        : !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)
          ? 'code_challenge must be a 43 character SHA-256 hash.'
          : null;
    if (problem) {
      return redirect(res, withParams(redirectUri, callbackParams({
        error: 'invalid_request',
        error_description: problem,
        state: q.state,
      })));
    }
  }

  const current = sessionLogin(req);
  const nonHttp = !/^https?:/i.test(redirectUri);
  const picker = q.prompt === 'select_account' || nonHttp;
  const returnTo = url.pathname + url.search;
  if (!current) {
    return loginPage(res, 200, { returnTo, suggested: q.login });
  }
  // The account picker appears on `prompt=select_account` and whenever the
  // redirect URI is not HTTP(S); it is shown once per authorization request.
  if (picker && url.searchParams.get('__picked') !== '1') {
    return loginPage(res, 200, { returnTo, suggested: q.login, current });
  }

  const user = usersByLogin.get(current);
  const requested = app.kind === 'oauth_app' ? parseScopes(q.scope) : [];
  const key = `${app.client_id} ${user.login}`;
  const granted = grants.get(key);
  if (granted && requested.every((s) => granted.has(s))) {
    // Already authorized with these scopes: no authorization page.
    return finishApproved(res, { app, user, q, redirectUri, scopes: mergeScopes(app, granted, requested, q.scope) });
  }

  const id = randomChars(24);
  pending.set(id, { app, user, q, redirectUri, requested, session: cookies(req).user_session, created: now() });
  const scopeList = requested.filter((s) => s !== 'offline_access');
  const scopesHtml = app.kind === 'oauth_app'
    ? `<ul class="scopes">${scopeList.map((s) => `<li>${escapeHtml(s)}</li>`).join('') || '<li>(no scope): public information (read-only)</li>'}</ul>`
    : '<p>This GitHub App will be able to act on your behalf within its permissions.</p>';
  sendHtml(res, 200, `Authorize application · GitHub`, `
<h1>${escapeHtml(app.name)} wants to access your ${escapeHtml(user.login)} account</h1>
${scopesHtml}
<p>Authorizing will redirect to <strong>${escapeHtml(redirectUri)}</strong></p>
<form method="post" action="/login/oauth/authorize/confirm">
  <input type="hidden" name="prompt" value="consent">
  <input type="hidden" name="authorization_id" value="${id}">
  <input type="hidden" name="authenticity_token" value="${escapeHtml(cookies(req).user_session)}">
  <button type="submit" name="authorize" value="0">Cancel</button>
  <button type="submit" name="authorize" value="1">Authorize ${escapeHtml(app.name)}</button>
</form>`);
}

function parseScopes(scope) {
  if (!scope) return [];
  // Space-delimited in the request; tolerate commas too (GitHub does).
  return [...new Set(scope.split(/[\s,]+/).filter(Boolean))];
}

/** Scopes of the token: requested ones; an empty request reuses what was granted. */
function mergeScopes(app, granted, requested, rawScope) {
  if (app.kind !== 'oauth_app') return [];
  if (rawScope === undefined && granted) return [...granted];
  return requested;
}

function finishApproved(res, { app, user, q, redirectUri, scopes }) {
  const key = `${app.client_id} ${user.login}`;
  const granted = grants.get(key) ?? new Set();
  for (const s of scopes) if (s !== 'offline_access') granted.add(s);
  grants.set(key, granted);
  const code = crypto.randomBytes(10).toString('hex'); // 20 hex characters, like GitHub's
  codes.set(code, {
    app,
    user,
    scopes,
    redirectUri,
    redirectUriSent: q.redirect_uri !== undefined,
    challenge: q.code_challenge,
    expires: now() + config.ttl.code * 1000,
  });
  return redirect(res, withParams(redirectUri, callbackParams({ code, state: q.state })));
}

async function sessionPost(req, res) {
  const form = parseBody(req, await readBody(req));
  const returnTo = form.return_to
    && (form.return_to.startsWith('/login/oauth/authorize') || form.return_to === '/login/device')
    ? form.return_to : '/';
  const user = usersByLogin.get(String(form.login || '').trim().toLowerCase());
  if (!user) {
    return loginPage(res, 422, { returnTo, suggested: form.login, error: 'Incorrect username or password.' });
  }
  const sid = randomChars(32);
  sessions.set(sid, user.login.toLowerCase());
  // The picker was answered: continue without showing it again.
  const next = withParams(returnTo, { __picked: '1' });
  redirect(res, next, { 'set-cookie': `user_session=${sid}; Path=/; HttpOnly; SameSite=Lax` });
}

async function confirmPost(req, res) {
  const form = parseBody(req, await readBody(req));
  const entry = pending.get(form.authorization_id);
  const sid = cookies(req).user_session;
  if (!entry || !sid || entry.session !== sid || form.authenticity_token !== sid) {
    return errorPage(res, 422, 'Unprocessable Entity', 'The authorization request is unknown or was made in another session.');
  }
  if (form.authorize !== '1' && form.authorize !== '0') {
    return errorPage(res, 400, 'Bad Request', 'Choose Authorize or Cancel.');
  }
  pending.delete(form.authorization_id);
  const { app, user, q, redirectUri, requested } = entry;
  if (form.authorize === '0') {
    return redirect(res, withParams(redirectUri, callbackParams({
      error: 'access_denied',
      error_description: 'The user has denied your application access.',
      error_uri: `${AUTHZ_ERROR_URI}#access-denied`,
      state: q.state,
    })));
  }
  const granted = grants.get(`${app.client_id} ${user.login}`);
  return finishApproved(res, { app, user, q, redirectUri, scopes: mergeScopes(app, granted, requested, q.scope) });
}

// ---------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------

function negotiate(req) {
  const accept = (req.headers.accept || '').toLowerCase();
  if (accept.includes('application/json')) return 'json';
  if (accept.includes('application/xml')) return 'xml';
  return 'form';
}

function tokenResponse(req, res, body) {
  // Every OAuth outcome, errors included, is a 200.
  const fields = Object.entries(body).filter(([, v]) => v !== undefined);
  switch (negotiate(req)) {
    case 'json':
      return sendJson(res, 200, Object.fromEntries(fields));
    case 'xml': {
      const inner = fields.map(([k, v]) => `<${k}>${escapeHtml(String(v))}</${k}>`).join('');
      return send(res, 200, 'application/xml; charset=utf-8', `<OAuth>${inner}</OAuth>`);
    }
    default:
      return send(res, 200, 'application/x-www-form-urlencoded; charset=utf-8',
        new URLSearchParams(fields.map(([k, v]) => [k, String(v)])).toString());
  }
}

function oauthError(req, res, error, description) {
  return tokenResponse(req, res, {
    error,
    error_description: description ?? ERROR_DESCRIPTIONS[error],
    error_uri: ERROR_URIS[error],
  });
}

function issueTokens(app, user, scopes, forceExpiring = false) {
  const expiring = forceExpiring || app.expiring
    || (app.kind === 'oauth_app' && config.offline_access && scopes.includes('offline_access'));
  const access = `${app.kind === 'github_app' ? 'ghu' : 'gho'}_${randomChars(36)}`;
  const record = {
    app,
    user,
    scopes: scopes.filter((s) => s !== 'offline_access'),
    expires: expiring ? now() + config.ttl.access * 1000 : null,
    refresh: null,
  };
  accessTokens.set(access, record);
  enforceTokenLimit(record);
  const out = { access_token: access };
  if (expiring) {
    const refresh = `ghr_${randomChars(76)}`;
    record.refresh = refresh;
    refreshTokens.set(refresh, {
      app, user, scopes: record.scopes, access, expires: now() + config.ttl.refresh * 1000,
    });
    out.expires_in = config.ttl.access;
    out.refresh_token = refresh;
    out.refresh_token_expires_in = config.ttl.refresh;
  }
  out.scope = app.kind === 'github_app' ? '' : record.scopes.join(',');
  out.token_type = 'bearer';
  return out;
}

/**
 * "There is a limit of ten tokens that are issued per user/application/scope
 * combination": the oldest live token of the same user, app and scope set is
 * revoked, without notice, once there are more.
 */
function enforceTokenLimit(record) {
  // Documented for OAuth apps only (GitHub Apps' user tokens have no such rule).
  if (record.app.kind !== 'oauth_app') return;
  const scopeKey = (r) => [...r.scopes].sort().join(' ');
  const same = [...accessTokens].filter(([, r]) => r.app === record.app && r.user === record.user
    && scopeKey(r) === scopeKey(record));
  // Map iteration follows insertion order, so the first entries are the oldest.
  for (const [token] of same.slice(0, Math.max(0, same.length - config.token_limit))) {
    revokeAccess(token);
    stats.revoked_by_limit += 1;
  }
}

function revokeAccess(token) {
  const record = accessTokens.get(token);
  if (!record) return;
  accessTokens.delete(token);
  if (record.refresh) refreshTokens.delete(record.refresh);
}

async function tokenPost(req, res, url) {
  const text = await readBody(req);
  let params;
  try {
    params = { ...Object.fromEntries(url.searchParams), ...parseBody(req, text) };
  } catch {
    params = Object.fromEntries(url.searchParams);
  }
  const grantType = params.grant_type || 'authorization_code';
  if (grantType === 'authorization_code' || grantType === 'refresh_token') stats.token[grantType] += 1;

  // Client authentication: client_id + client_secret parameters (documented),
  // or HTTP Basic (accepted unless basic_auth is false).
  let clientId = params.client_id;
  let clientSecret = params.client_secret;
  const basic = config.basic_auth ? basicAuth(req) : null;
  if (basic) {
    clientId = clientId ?? basic.id;
    if (clientId === basic.id) clientSecret = clientSecret ?? basic.secret;
  }
  const app = appsById.get(clientId);

  if (grantType === DEVICE_GRANT) return devicePoll(req, res, app, params);
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    return oauthError(req, res, 'unsupported_grant_type');
  }
  // client_secret is required for the web flow, with or without PKCE:
  // "GitHub does not distinguish between public and confidential clients".
  if (!app || !clientSecret || !app.client_secret || !timingSafeEqual(clientSecret, app.client_secret)) {
    return oauthError(req, res, 'incorrect_client_credentials');
  }

  if (grantType === 'refresh_token') {
    const old = refreshTokens.get(params.refresh_token || '');
    if (!old || old.app !== app || old.expires <= now()) {
      return oauthError(req, res, 'bad_refresh_token');
    }
    // Rotation: "Once you use a refresh token, that refresh token and the old
    // user access token will no longer work." The scope is that of the old token.
    refreshTokens.delete(params.refresh_token);
    revokeAccess(old.access);
    const out = issueTokens(app, old.user, old.scopes, true);
    return tokenResponse(req, res, out);
  }

  const code = codes.get(params.code || '');
  if (!code || code.app !== app || code.expires <= now()) {
    if (code && code.expires <= now()) codes.delete(params.code);
    return oauthError(req, res, 'bad_verification_code');
  }
  if (params.redirect_uri !== undefined && params.redirect_uri !== code.redirectUri) {
    return oauthError(req, res, 'redirect_uri_mismatch');
  }
  if (code.challenge !== undefined) {
    const verifier = params.code_verifier || '';
    const computed = crypto.createHash('sha256').update(verifier).digest('base64url');
    if (!verifier || computed !== code.challenge) {
      // Undocumented error shape; GitHub's documented "incorrect or expired /
      // doesn't match" error is used. The code is not consumed.
      return oauthError(req, res, 'bad_verification_code');
    }
  }
  if (code.user.email_verified === false) {
    codes.delete(params.code);
    return oauthError(req, res, 'unverified_user_email');
  }
  // Single use.
  codes.delete(params.code);
  return tokenResponse(req, res, issueTokens(app, code.user, code.scopes));
}

// ---------------------------------------------------------------------------
// Device flow (QUIRKS.md, "Device flow")
// ---------------------------------------------------------------------------

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ0123456789';

function newUserCode() {
  const pick = () => USER_CODE_ALPHABET[crypto.randomInt(USER_CODE_ALPHABET.length)];
  const half = () => Array.from({ length: 4 }, pick).join('');
  return `${half()}-${half()}`;
}

/** POST /login/device/code: a device code and a user code, for an app with the device flow on. */
async function deviceCodePost(req, res, url) {
  const params = { ...Object.fromEntries(url.searchParams), ...parseBody(req, await readBody(req)) };
  const app = appsById.get(params.client_id);
  if (!app) return errorPage(res, 404, 'Page not found · GitHub', 'Not Found');
  if (!app.device_flow) return oauthError(req, res, 'device_flow_disabled');
  const deviceCode = crypto.randomBytes(20).toString('hex'); // 40 characters
  const userCode = newUserCode();
  deviceCodes.set(deviceCode, {
    app,
    scopes: app.kind === 'oauth_app' ? parseScopes(params.scope) : [],
    userCode,
    expires: now() + config.ttl.device_code * 1000,
    interval: config.device_interval,
    lastPoll: 0,
    state: 'pending',
    user: null,
  });
  userCodes.set(userCode, deviceCode);
  stats.device.codes += 1;
  return tokenResponse(req, res, {
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: `${endpoints.base}/login/device`,
    expires_in: config.ttl.device_code,
    interval: config.device_interval,
  });
}

function deviceCodePage(res, status, sid, error) {
  const errorHtml = error ? `<div class="flash-error" role="alert">${escapeHtml(error)}</div>` : '';
  sendHtml(res, status, 'Device Activation · GitHub', `
<h1>Device Activation</h1>
${errorHtml}
<p>Enter the code displayed on your device</p>
<form method="post" action="/login/device">
  <input type="hidden" name="authenticity_token" value="${escapeHtml(sid)}">
  <input type="text" name="user_code" autocomplete="off" autofocus>
  <input type="submit" value="Continue">
</form>`);
}

/** GET /login/device: sign in first, then the code form. */
function deviceGet(req, res) {
  const sid = cookies(req).user_session;
  if (!sessionLogin(req)) return loginPage(res, 200, { returnTo: '/login/device' });
  return deviceCodePage(res, 200, sid);
}

/** The device code a typed user code names: case and the hyphen do not matter. */
function deviceFor(typed) {
  const clean = String(typed || '').toUpperCase().replace(/[^A-Z0-9]/g, '');
  const userCode = clean.length === 8 ? `${clean.slice(0, 4)}-${clean.slice(4)}` : '';
  const deviceCode = userCodes.get(userCode);
  const entry = deviceCode && deviceCodes.get(deviceCode);
  return entry && entry.state === 'pending' && entry.expires > now() ? [deviceCode, entry] : [];
}

/** POST /login/device: the code typed; then the authorization page. */
async function devicePost(req, res) {
  const form = parseBody(req, await readBody(req));
  const sid = cookies(req).user_session;
  const login = sessionLogin(req);
  if (!login || form.authenticity_token !== sid) return deviceGet(req, res);
  const [, entry] = deviceFor(form.user_code);
  if (!entry) return deviceCodePage(res, 422, sid, 'Incorrect code. Check the code on your device and try again.');
  const user = usersByLogin.get(login);
  const scopeList = entry.scopes.filter((sc) => sc !== 'offline_access');
  sendHtml(res, 200, 'Authorize application · GitHub', `
<h1>${escapeHtml(entry.app.name)} wants to access your ${escapeHtml(user.login)} account</h1>
<ul class="scopes">${scopeList.map((sc) => `<li>${escapeHtml(sc)}</li>`).join('') || '<li>(no scope)</li>'}</ul>
<form method="post" action="/login/device/confirm">
  <input type="hidden" name="prompt" value="consent">
  <input type="hidden" name="device_code_id" value="${escapeHtml(entry.userCode)}">
  <input type="hidden" name="authenticity_token" value="${escapeHtml(sid)}">
  <button type="submit" name="authorize" value="0">Cancel</button>
  <button type="submit" name="authorize" value="1">Authorize ${escapeHtml(entry.app.name)}</button>
</form>`);
}

/** POST /login/device/confirm: Authorize or Cancel. */
async function deviceConfirmPost(req, res) {
  const form = parseBody(req, await readBody(req));
  const sid = cookies(req).user_session;
  const login = sessionLogin(req);
  const [, entry] = deviceFor(form.device_code_id);
  if (!login || form.authenticity_token !== sid || !entry) {
    return errorPage(res, 422, 'Unprocessable Entity', 'The device authorization is unknown or has expired.');
  }
  if (form.authorize === '1') {
    entry.state = 'approved';
    entry.user = usersByLogin.get(login);
    return sendHtml(res, 200, 'Device Activation · GitHub', "<h1>Congratulations, you're all set!</h1><p>Your device is now connected.</p>");
  }
  entry.state = 'denied';
  return sendHtml(res, 200, 'Device Activation · GitHub', '<h1>Authorization cancelled</h1><p>The device was not connected.</p>');
}

/** The token endpoint's device grant: client_id and device_code; no client secret needed. */
function devicePoll(req, res, app, params) {
  stats.token.device_code += 1;
  if (!app) return oauthError(req, res, 'incorrect_client_credentials');
  if (!app.device_flow) return oauthError(req, res, 'device_flow_disabled');
  const entry = deviceCodes.get(params.device_code || '');
  if (!entry || entry.app !== app) return oauthError(req, res, 'incorrect_device_code');
  if (entry.expires <= now()) {
    deviceCodes.delete(params.device_code);
    return oauthError(req, res, 'expired_token');
  }
  // Faster than the interval: slow_down, and the interval grows by 5 s.
  const early = now() - entry.lastPoll < entry.interval * 1000;
  entry.lastPoll = now();
  if (early || forcedSlowDowns > 0) {
    if (forcedSlowDowns > 0) forcedSlowDowns -= 1;
    entry.interval += 5;
    stats.device.slow_down += 1;
    return tokenResponse(req, res, {
      error: 'slow_down',
      error_description: ERROR_DESCRIPTIONS.slow_down,
      error_uri: ERROR_URIS.slow_down,
      interval: entry.interval,
    });
  }
  if (entry.state === 'pending') {
    stats.device.pending += 1;
    return oauthError(req, res, 'authorization_pending');
  }
  deviceCodes.delete(params.device_code);
  userCodes.delete(entry.userCode);
  if (entry.state === 'denied') return oauthError(req, res, 'access_denied');
  return tokenResponse(req, res, issueTokens(app, entry.user, entry.scopes));
}

// ---------------------------------------------------------------------------
// REST API (/api/v3)
// ---------------------------------------------------------------------------

function apiHeaders() {
  return {
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': crypto.randomBytes(8).toString('hex').toUpperCase(),
  };
}

function apiError(res, status, message, documentation, extra = {}) {
  sendJson(res, status, {
    message,
    documentation_url: documentation,
    status: String(status),
  }, { ...apiHeaders(), ...extra });
}

function bearer(req) {
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(req.headers.authorization || '');
  return m ? m[1] : null;
}

function tokenRecord(token) {
  const record = token && accessTokens.get(token);
  if (!record || (record.expires !== null && record.expires <= now())) return null;
  return record;
}

function userJson(user) {
  const { base, api } = endpoints;
  return {
    login: user.login,
    id: user.id,
    node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
    avatar_url: `${base}/avatars/u/${user.id}?v=4`,
    gravatar_id: '',
    url: `${api}/users/${user.login}`,
    html_url: `${base}/${user.login}`,
    type: 'User',
    user_view_type: 'public',
    site_admin: false,
    name: user.name,
    company: null,
    blog: '',
    location: null,
    email: user.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 8,
    public_gists: 8,
    followers: 20,
    following: 0,
    created_at: '2011-01-25T18:44:36Z',
    updated_at: '2026-01-01T00:00:00Z',
  };
}

function utcStamp(ms) {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

async function apiRequest(req, res, path) {
  // "Requests with no User-Agent header will be rejected" (403).
  const agent = req.headers['user-agent'];
  if (!agent || !agent.trim()) {
    if (path === '/user') stats.user_without_agent += 1;
    req.resume();
    return send(res, 403, 'text/plain; charset=utf-8',
      'Request forbidden by administrative rules. Please make sure your request has a User-Agent header '
      + '(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). '
      + 'Check https://developer.github.com for other possible causes.\n');
  }
  const version = req.headers['x-github-api-version'];
  if (version !== undefined && !config.api_versions.includes(version)) {
    // "If you specify an API version that is no longer supported, you will receive a
    // 410 Gone response" (the current API-versions page; older copies said 400).
    req.resume();
    return apiError(res, 410, `Unsupported 'X-GitHub-Api-Version' header value: ${version}`,
      `${DOCS}/rest/about-the-rest-api/api-versions`);
  }

  if (path === '/user' && req.method === 'GET') {
    stats.user += 1;
    const token = bearer(req);
    if (!token) {
      return apiError(res, 401, 'Requires authentication', `${DOCS}/rest/users/users#get-the-authenticated-user`);
    }
    const record = tokenRecord(token);
    if (!record) return apiError(res, 401, 'Bad credentials', `${DOCS}/rest`);
    const headers = { ...apiHeaders(), 'x-accepted-oauth-scopes': '' };
    if (record.app.kind === 'oauth_app') headers['x-oauth-scopes'] = record.scopes.join(', ');
    if (record.expires !== null) headers['github-authentication-token-expiration'] = utcStamp(record.expires);
    return sendJson(res, 200, userJson(record.user), headers);
  }

  const m = /^\/applications\/([^/]+)\/(token|grant)$/.exec(path);
  if (m && req.method === 'DELETE') {
    const [, clientIdRaw, what] = m;
    stats[what === 'token' ? 'delete_token' : 'delete_grant'] += 1;
    const clientId = decodeURIComponent(clientIdRaw);
    const text = await readBody(req);
    const app = appsById.get(clientId);
    const basic = basicAuth(req);
    // Basic authentication with the app's client_id and client_secret.
    if (!app || !basic || basic.id !== clientId || !timingSafeEqual(basic.secret, app.client_secret ?? '')) {
      return apiError(res, 404, 'Not Found', `${DOCS}/rest/apps/oauth-applications#delete-an-app-${what === 'token' ? 'token' : 'authorization'}`);
    }
    let body;
    try {
      body = text.trim() ? JSON.parse(text) : {};
    } catch {
      return apiError(res, 400, 'Problems parsing JSON', `${DOCS}/rest/apps/oauth-applications`);
    }
    const token = body && typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) {
      return apiError(res, 422, 'Invalid request.\n\n"access_token" wasn\'t supplied.', `${DOCS}/rest/apps/oauth-applications`);
    }
    // An expired token identifies nothing any more: 404, like an unknown one.
    const record = tokenRecord(token);
    if (!record || record.app !== app) {
      return apiError(res, 404, 'Not Found', `${DOCS}/rest/apps/oauth-applications`);
    }
    if (what === 'token') {
      revokeAccess(token);
    } else {
      // Deleting the grant deletes every token of this app for that user.
      for (const [t, r] of [...accessTokens]) {
        if (r.app === app && r.user === record.user) revokeAccess(t);
      }
      grants.delete(`${app.client_id} ${record.user.login}`);
    }
    res.writeHead(204, apiHeaders());
    return res.end();
  }

  req.resume();
  return apiError(res, 404, 'Not Found', `${DOCS}/rest`);
}

// ---------------------------------------------------------------------------
// Test hooks
// ---------------------------------------------------------------------------

async function testHook(req, res, path) {
  if (path === '/__test/stats' && req.method === 'GET') return sendJson(res, 200, stats);
  if (path === '/__test/reset' && req.method === 'POST') {
    req.resume();
    stats = zeroStats();
    grants = new Map();
    sessions = new Map();
    pending.clear();
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/__test/slow_down' && req.method === 'POST') {
    req.resume();
    forcedSlowDowns += 1;
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/__test/expire' && req.method === 'POST') {
    let body;
    try {
      body = JSON.parse((await readBody(req)) || '{}');
    } catch (err) {
      return sendJson(res, 400, { error: `invalid JSON: ${err.message}` });
    }
    const expired = [];
    if (typeof body.access_token === 'string') {
      const record = accessTokens.get(body.access_token);
      if (!record) return sendJson(res, 404, { error: 'unknown access_token' });
      record.expires = now() - 1000;
      expired.push('access_token');
    }
    if (typeof body.refresh_token === 'string') {
      const record = refreshTokens.get(body.refresh_token);
      if (!record) return sendJson(res, 404, { error: 'unknown refresh_token' });
      record.expires = now() - 1000;
      expired.push('refresh_token');
    }
    if (expired.length === 0) return sendJson(res, 400, { error: 'send access_token and/or refresh_token' });
    return sendJson(res, 200, { ok: true, expired });
  }
  req.resume();
  return sendJson(res, 404, { error: `no test hook ${req.method} ${path}` });
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

async function handle(req, res) {
  const url = new URL(req.url || '/', 'http://127.0.0.1');
  const path = url.pathname;
  if (VERBOSE) log(req.method, req.url);

  if (path.startsWith('/__test/')) return testHook(req, res, path);
  if (path === '/api/v3' || path.startsWith('/api/v3/')) {
    return apiRequest(req, res, path.slice('/api/v3'.length) || '/');
  }
  if (path === '/login/oauth/authorize' && req.method === 'GET') return authorizeGet(req, res, url);
  if (path === '/login/oauth/authorize/confirm' && req.method === 'POST') return confirmPost(req, res);
  if (path === '/session' && req.method === 'POST') return sessionPost(req, res);
  if (path === '/login/oauth/access_token' && req.method === 'POST') return tokenPost(req, res, url);
  if (path === '/login/device/code' && req.method === 'POST') return deviceCodePost(req, res, url);
  if (path === '/login/device' && req.method === 'GET') return deviceGet(req, res);
  if (path === '/login/device' && req.method === 'POST') return devicePost(req, res);
  if (path === '/login/device/confirm' && req.method === 'POST') return deviceConfirmPost(req, res);
  req.resume();
  return errorPage(res, 404, 'Page not found · GitHub', `Not Found: ${req.method} ${path}`);
}

const requestedPort = process.env.GITHUB_FAKE_PORT ? Number(process.env.GITHUB_FAKE_PORT) : 0;
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  throw new Error(`invalid GITHUB_FAKE_PORT ${process.env.GITHUB_FAKE_PORT}`);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    log('error', req.method, req.url, err);
    if (!res.headersSent) sendJson(res, 500, { message: 'Server Error', error: String(err) });
    else res.end();
  });
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, '127.0.0.1', resolve);
});
const { port } = server.address();
const endpoints = { base: `http://127.0.0.1:${port}`, api: `http://127.0.0.1:${port}/api/v3` };

announceAndStayTied(server, { ...endpoints, port }, { log, verbose: VERBOSE });
log(`listening on ${endpoints.base} (API ${endpoints.api})`);
