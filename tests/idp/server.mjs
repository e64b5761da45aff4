// Local OpenID provider for Keyfob's integration tests.
//
//   node tests/idp/server.mjs [config.json]
//
// Built on panva's oidc-provider (in-memory adapter, dev login/consent pages).
// Listens on 127.0.0.1 (port 0 = any free port unless IDP_PORT is set) and,
// once ready, prints exactly one JSON line on stdout:
//
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
//
// Everything else goes to stderr. The process exits when stdin closes (so a
// killed parent never leaves it behind; set IDP_IGNORE_STDIN=1 to disable) and
// on SIGTERM / SIGINT. Set IDP_VERBOSE=1 for a line per request and
// oidc-provider's notices.
//
// Test hooks (plain JSON, handled before the provider sees the request):
//   GET  /__test/stats  -> {"token":{"authorization_code":n,"refresh_token":n,"other":n},
//                           "revocation":n,"userinfo":n,"introspection":n,
//                           "google_device_polls":[{"answer":..., "since_last_ms":n|null}]}
//   POST /__test/reset  -> zero counters and pending failure injections
//   POST /__test/delay  {"token_ms": 500} -> every token request waits that long first (a slow
//                          provider, so concurrent refreshes really overlap); 0 turns it off
//   POST /__test/expires_in {"value": 0 | "3600" | "omit" | ..., "count": 1}
//                       -> the next `count` token answers carry that expires_in ("omit":
//                          none at all), as servers that leave it out or write a string do
//   POST /__test/fail   {"endpoint":"token"|"revocation"|"userinfo"|"introspection",
//                        "mode":"status503"|"status500"|"html200"|"error200"|"garbage200",
//                        "count":1}
//   POST /__test/google_slow_down {"count": 1}
//                       -> Google mode: the next `count` device-code polls of the device client
//                          are answered 403 slow_down, however slowly they come
//
// Config keys (config.json, all optional):
//   clients               extra clients; one with a default client's client_id replaces it
//   ttl                   {AccessToken, IdToken, RefreshToken, Grant, Session, RefreshedAccessToken,
//                          DeviceCode} (s)
//   issAuthResp           false: no `iss` in authorization responses (RFC 9207). Outside Google
//                         mode discovery then also says authorization_response_iss_parameter_supported:
//                         false; in Google mode only the callbacks change (Google before it added iss)
//   refreshTokenOnRefresh false: refresh tokens do not rotate, refresh responses carry none
//   conformIdTokenClaims  oidc-provider's option of that name (default false here)
//   google                true: Google-like mode, see loadConfig
//   googleBareIssuer      Google mode only: ID tokens from the token endpoint say iss
//                         "127.0.0.1:PORT" (no scheme), as Google's may say "accounts.google.com"
//   googleDeviceInterval  Google mode only: the `interval` (s) of device-code answers (default 5,
//                         Google's); a poll sooner than that after the last one gets slow_down
//   idTokenAlg            "ES256" | "PS256" | "EdDSA": also publish a key for that algorithm
//                         (P-256, RSA, Ed25519) and make every client without its own
//                         id_token_signed_response_alg get ID tokens signed with it (default: RS256)
//   tamper                one of TAMPER_MODES below: the provider runs the flow as always and
//                         only the named thing in its answers is altered, mirroring the
//                         OpenID Foundation's RP certification tests (IDP_TAMPER=MODE in the
//                         environment does the same)

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { CompactSign, importJWK } from 'jose';
import { announceAndStayTied } from '../node-lib/lifecycle.mjs';

const VERBOSE = process.env.IDP_VERBOSE === '1';

// stdout is reserved for the ready line. oidc-provider prints its notices with
// console.info (stdout), so route all console output to stderr, and drop the
// "you SHOULD change this default" notices unless verbose.
{
  const toStderr = (...args) => {
    const first = typeof args[0] === 'string' ? args[0] : '';
    if (!VERBOSE && first.includes('oidc-provider NOTICE')) return;
    console.error(...args);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

const log = (...args) => console.error('[idp]', ...args);

// Imported only after console is redirected.
const t0 = Date.now();
// Startup phases go to stderr, which the harness shows when a start stalls.
const phase = (name) => log(`startup: ${name} at ${Date.now() - t0} ms`);
const { default: Provider } = await import('oidc-provider');
phase('oidc-provider loaded');

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

const DEFAULT_CLIENTS = [
  {
    client_id: 'keyfob-native',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    // The device flow (RFC 8628) for `keyfob link --device`.
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: [
      'dev.keyfob.app:/oauth/local',
      'dev.keyfob.app:/oauth/local2',
      'dev.keyfob.app:/oauth/other',
      // Native clients: oidc-provider ignores the port when comparing loopback
      // (127.0.0.1 / localhost / [::1]) http redirect URIs (RFC 8252 7.3), so
      // these match http://127.0.0.1:<any port>/oauth/local(2).
      'http://127.0.0.1/oauth/local',
      'http://127.0.0.1/oauth/local2',
    ],
  },
  {
    client_id: 'keyfob-confidential',
    client_secret: 'confidential-secret-value',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [
      'dev.keyfob.app:/oauth/local-secret',
      'http://127.0.0.1/oauth/local-secret',
    ],
  },
  {
    client_id: 'keyfob-post',
    client_secret: 'post-secret-value',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['dev.keyfob.app:/oauth/local-post'],
  },
];

const GOOGLE_DESKTOP_CLIENT = {
  client_id: 'google-desktop.apps.googleusercontent.test',
  client_secret: 'google-desktop-secret',
  application_type: 'native',
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/oauth/google'],
};

// Google mode's "TVs and Limited Input devices" client: a separate client type from the desktop
// one, the only one allowed the device flow (GOOGLE.md "Device flow"). It has no redirect at all.
const GOOGLE_DEVICE_CLIENT = {
  client_id: 'google-device.apps.googleusercontent.test',
  client_secret: 'google-device-secret',
  application_type: 'native',
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
};

// The scopes Google's device flow accepts ("Allowed scopes",
// https://developers.google.com/identity/protocols/oauth2/limited-input-device#allowedscopes).
const GOOGLE_DEVICE_SCOPES = new Set([
  'openid', 'email', 'profile',
  'https://www.googleapis.com/auth/drive.appdata',
  'https://www.googleapis.com/auth/drive.file',
  'https://www.googleapis.com/auth/youtube',
  'https://www.googleapis.com/auth/youtube.readonly',
]);

const DEFAULT_TTL = {
  AccessToken: 3600,
  IdToken: 3600,
  RefreshToken: 86400,
  Grant: 86400,
  Session: 86400,
};

// Keys for idTokenAlg, as node:crypto generateKeyPairSync arguments. All three algorithms are in
// oidc-provider's default enabledJWA.idTokenSigningAlgValues, so discovery advertises them.
const EXTRA_KEY_TYPES = {
  ES256: ['ec', { namedCurve: 'P-256' }],
  PS256: ['rsa', { modulusLength: 2048 }],
  EdDSA: ['ed25519', {}],
};

// What each tamper mode alters; the OpenID Foundation RP test it mirrors in brackets. ID tokens
// are re-signed with the provider's own key (header kept) unless the mode is about the
// signature or the key. "code" ID tokens come from the code exchange, "refresh" ones from a
// refresh.
const TAMPER_MODES = {
  'sig-none': 'code ID token: alg none, no signature [rp-id_token-sig-none]',
  'bad-sig': 'code ID token: one signature byte flipped [rp-id_token-bad-sig-rs256/es256]',
  'iss-mismatch': 'code ID token: iss https://attacker.example [rp-id_token-issuer-mismatch]',
  'aud-mismatch': 'code ID token: aud another-client [rp-id_token-aud]',
  'azp-untrusted': 'code ID token: azp untrusted-client added',
  'iat-missing': 'code ID token: no iat [rp-id_token-iat]',
  'iat-stale': 'code ID token: iat an hour earlier (exp kept)',
  'nonce-invalid': 'code ID token: nonce not the one sent [rp-nonce-invalid]',
  'nonce-missing': 'code ID token: no nonce [rp-nonce-unless-code-flow]',
  'at-hash': 'code ID token: the right at_hash added (oidc-provider sends none here)',
  'at-hash-wrong': 'code ID token: an at_hash of another token added',
  'kid-absent-single': 'code ID token: no kid; the JWKS has one key [rp-id_token-kid-absent-single-jwks]',
  'kid-absent-multiple': 'code ID token: no kid; the JWKS gets a second RSA key [rp-id_token-kid-absent-multiple-jwks]',
  'key-rotation': 'from the first refresh on, ID tokens are signed with a new key and the JWKS '
    + 'holds only that one [rp-key-rotation-op-sign-key]',
  'refresh-azp-added': 'refresh ID tokens: azp (this client) added, absent from the original (OIDC Core 12.2)',
  'discovery-issuer-mismatch': 'discovery: issuer names another URL [rp-discovery-issuer-not-matching-config]',
  'userinfo-sub-mismatch': 'userinfo: sub someone-else [rp-userinfo-bad-sub-claim]',
  'response-iss-mismatch': 'authorization responses: iss https://attacker.example (RFC 9207)',
};

function loadConfig(path) {
  const config = {
    clients: DEFAULT_CLIENTS,
    ttl: { ...DEFAULT_TTL },
    // RFC 9207: authorization responses (success and error redirects) carry `iss`...
    issAuthResp: true,
    // ...and discovery says so: true | false | 'omit' (no authorization_response_iss_parameter_supported).
    issDiscovery: true,
    conformIdTokenClaims: false,
    // Google's behaviour: refresh tokens do not rotate and a refresh response carries none.
    refreshTokenOnRefresh: true,
    // Google-like mode. Each behaviour and its source:
    // - Callbacks carry `iss` (success and error) but discovery does not announce it: the key
    //   authorization_response_iss_parameter_supported is absent, as in
    //   https://accounts.google.com/.well-known/openid-configuration. Google sends `iss` without
    //   announcing it (openiddict/openiddict-core#2428, by 2026-02-24). {"issAuthResp": false}
    //   strips it from callbacks again (Google before that change).
    // - The "Desktop app" client always gets a refresh token from a code exchange, with or without
    //   access_type=offline / prompt=consent: "Note that refresh tokens are always returned for
    //   installed applications." (https://developers.google.com/identity/protocols/oauth2/native-app).
    // - Refresh responses carry no refresh token and it does not rotate (same page, "Refreshing an
    //   access token").
    // - Revoking an unknown, expired or already revoked token answers 400
    //   {"error":"invalid_token","error_description":"Token expired or revoked"} ("For error
    //   conditions, an HTTP status code 400 is returned along with an error code.",
    //   https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke).
    // - googleBareIssuer: ID token `iss` without the scheme ("Always https://accounts.google.com or
    //   accounts.google.com for Google ID tokens.",
    //   https://developers.google.com/identity/openid-connect/openid-connect).
    // - The desktop client takes loopback redirects only and sends its secret in the body.
    // - An authorization request with the scope offline_access gets Google's own error page,
    //   "Error 400: invalid_scope" (googleUnknownScopes).
    // - The device flow is for the "TVs and Limited Input devices" client only, with Google's
    //   field names, statuses and scope list (googleDeviceAnswer, GOOGLE.md "Device flow").
    google: false,
    googleBareIssuer: false,
    googleDeviceInterval: 5,
    idTokenAlg: 'RS256',
    tamper: process.env.IDP_TAMPER || null,
  };
  if (path) applyUserConfig(config, JSON.parse(fs.readFileSync(path, 'utf8')));
  if (config.tamper !== null && !Object.hasOwn(TAMPER_MODES, config.tamper)) {
    throw new Error(`tamper must be one of ${Object.keys(TAMPER_MODES).join(', ')}`);
  }
  return config;
}

function applyUserConfig(config, user) {
  if (user.tamper !== undefined) config.tamper = user.tamper;
  if (user.clients !== undefined) {
    if (!Array.isArray(user.clients)) throw new TypeError('config.clients must be an array');
    // A client with the id of a default client replaces it; others are added.
    const byId = new Map(config.clients.map((c) => [c.client_id, c]));
    for (const client of user.clients) byId.set(client.client_id, client);
    config.clients = [...byId.values()];
  }
  if (user.ttl !== undefined) Object.assign(config.ttl, user.ttl);
  if (user.google) {
    config.google = true;
    config.issDiscovery = 'omit';
    config.refreshTokenOnRefresh = false;
    config.clients = [...config.clients, GOOGLE_DESKTOP_CLIENT, GOOGLE_DEVICE_CLIENT];
    config.googleBareIssuer = Boolean(user.googleBareIssuer);
    // Google's device and user codes live 30 minutes ("expires_in": 1800 in its example answer).
    if (user.ttl?.DeviceCode === undefined) config.ttl.DeviceCode = 1800;
    if (user.googleDeviceInterval !== undefined) {
      const interval = Number(user.googleDeviceInterval);
      if (!Number.isInteger(interval) || interval < 1) {
        throw new Error('googleDeviceInterval must be a whole number of seconds, at least 1');
      }
      config.googleDeviceInterval = interval;
    }
  } else if (user.googleBareIssuer || user.googleDeviceInterval !== undefined) {
    throw new Error('googleBareIssuer and googleDeviceInterval need google: true');
  }
  if (user.issAuthResp !== undefined) {
    config.issAuthResp = Boolean(user.issAuthResp);
    if (!config.google) config.issDiscovery = config.issAuthResp;
  }
  if (user.refreshTokenOnRefresh !== undefined) {
    config.refreshTokenOnRefresh = Boolean(user.refreshTokenOnRefresh);
  }
  if (user.conformIdTokenClaims !== undefined) {
    config.conformIdTokenClaims = Boolean(user.conformIdTokenClaims);
  }
  if (user.idTokenAlg !== undefined) {
    if (!Object.hasOwn(EXTRA_KEY_TYPES, user.idTokenAlg)) {
      throw new Error(`idTokenAlg must be one of ${Object.keys(EXTRA_KEY_TYPES).join(', ')}`);
    }
    config.idTokenAlg = user.idTokenAlg;
    // oidc-provider signs each client's ID tokens with its registered
    // id_token_signed_response_alg (OpenID Connect Dynamic Client Registration 2).
    config.clients = config.clients.map((c) => ({ id_token_signed_response_alg: user.idTokenAlg, ...c }));
  }
}

const config = loadConfig(process.argv[2]);

// ---------------------------------------------------------------------------
// Test hooks state
// ---------------------------------------------------------------------------

function zeroStats() {
  return {
    token: { authorization_code: 0, refresh_token: 0, other: 0 },
    revocation: 0,
    userinfo: 0,
    introspection: 0,
    // The most token requests the server was answering at one time.
    token_in_flight_max: 0,
    // Google mode: each device-code poll of the device client, {answer, since_last_ms}.
    google_device_polls: [],
  };
}

let stats = zeroStats();
let tokenInFlight = 0;
/** Milliseconds every token request waits before the provider sees it (0: none). */
let tokenDelayMs = 0;
/** { value, remaining } for the next token answers' expires_in, or null */
let expiresInRewrite = null;
/** endpoint name -> { mode, remaining } */
let failures = new Map();
/** Google mode: how many device-code polls still get slow_down whatever their pace. */
let googleSlowDowns = 0;
/** Google mode: device code -> when it was last polled (ms), to tell a too-early poll. */
const googleLastPoll = new Map();

const FAIL_MODES = new Set(['status503', 'status500', 'html200', 'error200', 'garbage200']);
const FAIL_ENDPOINTS = new Set(['token', 'revocation', 'userinfo', 'introspection']);

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

function sendFake(res, mode) {
  const send = (status, contentType, body) => {
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  switch (mode) {
    case 'status503':
      // What a reverse proxy in front of a sick IdP typically says.
      return send(503, 'text/html; charset=utf-8',
        '<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>');
    case 'status500':
      return send(500, 'application/json',
        JSON.stringify({ error: 'server_error', error_description: 'injected failure' }));
    case 'html200':
      return send(200, 'text/html', '<html>oops</html>');
    case 'error200':
      return send(200, 'application/json', JSON.stringify({
        error: 'bad_verification_code',
        error_description: 'The code passed is incorrect or expired.',
      }));
    case 'garbage200':
      return send(200, 'application/json', 'not json');
    default:
      throw new Error(`unknown failure mode ${mode}`);
  }
}

async function readJsonBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() ? JSON.parse(text) : {};
}

async function handleTestHook(req, res, path) {
  if (path === '/__test/stats' && req.method === 'GET') {
    return sendJson(res, 200, stats);
  }
  if (path === '/__test/reset' && req.method === 'POST') {
    req.resume();
    stats = zeroStats();
    failures = new Map();
    expiresInRewrite = null;
    tokenDelayMs = 0;
    googleSlowDowns = 0;
    return sendJson(res, 200, { ok: true });
  }
  // The other hooks take a JSON body.
  let body;
  try {
    body = await readJsonBody(req);
  } catch (err) {
    return sendJson(res, 400, { error: `invalid JSON: ${err.message}` });
  }
  if (path === '/__test/delay' && req.method === 'POST') {
    const ms = Number(body.token_ms);
    if (!Number.isInteger(ms) || ms < 0 || ms > 60000) {
      return sendJson(res, 400, { error: 'token_ms must be a whole number of milliseconds up to 60000' });
    }
    tokenDelayMs = ms;
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/__test/expires_in' && req.method === 'POST') {
    const count = body.count === undefined ? 1 : Number(body.count);
    if (!('value' in body) || !Number.isInteger(count) || count < 0) {
      return sendJson(res, 400, { error: 'send {"value": ..., "count": n}' });
    }
    expiresInRewrite = count === 0 ? null : { value: body.value, remaining: count };
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/__test/google_slow_down' && req.method === 'POST') {
    const count = body.count === undefined ? 1 : Number(body.count);
    if (!config.google) return sendJson(res, 400, { error: 'only in Google mode' });
    if (!Number.isInteger(count) || count < 0) {
      return sendJson(res, 400, { error: 'count must be a non-negative integer' });
    }
    googleSlowDowns = count;
    return sendJson(res, 200, { ok: true, count });
  }
  if (path === '/__test/fail' && req.method === 'POST') {
    const { endpoint, mode } = body;
    const count = body.count === undefined ? 1 : Number(body.count);
    if (!FAIL_ENDPOINTS.has(endpoint)) {
      return sendJson(res, 400, { error: `unknown endpoint ${JSON.stringify(endpoint)}`, endpoints: [...FAIL_ENDPOINTS] });
    }
    if (!FAIL_MODES.has(mode)) {
      return sendJson(res, 400, { error: `unknown mode ${JSON.stringify(mode)}`, modes: [...FAIL_MODES] });
    }
    if (!Number.isInteger(count) || count < 0) {
      return sendJson(res, 400, { error: 'count must be a non-negative integer' });
    }
    if (count === 0) failures.delete(endpoint);
    else failures.set(endpoint, { mode, remaining: count });
    return sendJson(res, 200, { ok: true, endpoint, mode, count });
  }
  return sendJson(res, 404, { error: `no test hook ${req.method} ${path}` });
}

// ---------------------------------------------------------------------------
// Server + provider
// ---------------------------------------------------------------------------

const requestedPort = process.env.IDP_PORT ? Number(process.env.IDP_PORT) : 0;
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  throw new Error(`invalid IDP_PORT ${process.env.IDP_PORT}`);
}

// The issuer contains the port, so bind first and build the provider after.
let providerCallback;
/** path -> endpoint name, for failure injection (filled from provider routes) */
const endpointPaths = new Map();

const server = http.createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (VERBOSE) log(req.method, req.url);

  if (path.startsWith('/__test/')) {
    handleTestHook(req, res, path).catch((err) => {
      log('test hook error', err);
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
    });
    return;
  }

  const endpoint = endpointPaths.get(path);
  const failure = endpoint && req.method !== 'OPTIONS' ? failures.get(endpoint) : undefined;
  if (failure) {
    failure.remaining -= 1;
    if (failure.remaining <= 0) failures.delete(endpoint);
    if (VERBOSE) log(`injecting ${failure.mode} on ${endpoint}`);
    // Drain the request body, then answer.
    req.resume();
    req.on('end', () => sendFake(res, failure.mode));
    return;
  }

  if (config.google && path === provider.pathFor('authorization') && googleUnknownScopes(req, res)) return;

  if (endpoint === 'token' && req.method === 'POST') {
    tokenInFlight += 1;
    stats.token_in_flight_max = Math.max(stats.token_in_flight_max, tokenInFlight);
    res.once('close', () => { tokenInFlight -= 1; });
    if (tokenDelayMs > 0) {
      setTimeout(() => providerCallback(req, res), tokenDelayMs);
      return;
    }
  }
  providerCallback(req, res);
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, '127.0.0.1', resolve);
});
const { port } = server.address();
phase('listening socket bound');
const issuer = `http://127.0.0.1:${port}`;

const capitalise = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
phase('signing key generated');
const bareIssuer = issuer.replace(/^https?:\/\//, '');
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'keyfob-test-rs256', alg: 'RS256', use: 'sig' };
const signingKeys = [signingKey];
if (config.idTokenAlg !== 'RS256') {
  const [type, options] = EXTRA_KEY_TYPES[config.idTokenAlg];
  const extra = crypto.generateKeyPairSync(type, options).privateKey;
  signingKeys.push({
    ...extra.export({ format: 'jwk' }),
    kid: `keyfob-test-${config.idTokenAlg.toLowerCase()}`,
    alg: config.idTokenAlg,
    use: 'sig',
  });
}

// Tamper modes about keys: a second RSA key, published beside the first (kid-absent-multiple)
// or replacing it once rotated (key-rotation).
const spareKey = ['kid-absent-multiple', 'key-rotation'].includes(config.tamper)
  ? {
    ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'keyfob-test-rs256-spare',
    alg: 'RS256',
    use: 'sig',
  }
  : null;
/** key-rotation: whether the provider has moved to the spare key. */
let rotated = false;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: signingKeys },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  responseTypes: ['code'],
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  conformIdTokenClaims: config.conformIdTokenClaims,
  // Google mode: the desktop client gets a refresh token from every code exchange ("refresh
  // tokens are always returned for installed applications", developers.google.com
  // .../oauth2/native-app). Others: oidc-provider's default (lib/helpers/defaults.js
  // issueRefreshToken: refresh_token grant allowed and offline_access granted, which needs
  // prompt=consent). access_type is not an oidc-provider parameter and is ignored.
  // Google's device client too: "Note that refresh tokens are always returned for devices."
  // (limited-input-device, "Access granted").
  async issueRefreshToken(ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    if (isGoogleDesktop(client) || isGoogleDevice(client)) return true;
    return code.scopes.has('offline_access');
  },
  // The default ends tokens without offline_access with the browser session; Google's desktop
  // and device refresh tokens outlive it.
  async expiresWithSession(ctx, code) {
    if (isGoogleDesktop(ctx.oidc.client) || isGoogleDevice(ctx.oidc.client)) return false;
    return !code.scopes.has('offline_access');
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.test`,
          email_verified: true,
          name: capitalise(id),
          preferred_username: id,
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: {
      enabled: true,
      // Any registered (authenticated) client may introspect any token.
      allowedPolicy: async () => true,
    },
    userinfo: { enabled: true },
  },
  pkce: {
    // S256 is the only method oidc-provider 9 supports at all.
    required: () => true,
  },
  // Always rotate. Reusing a rotated refresh token revokes the whole grant
  // (oidc-provider's built-in reuse detection).
  // With refreshTokenOnRefresh:false (Google-like) the token is kept and not sent again.
  rotateRefreshToken: config.refreshTokenOnRefresh,
  ttl: {
    ...Object.fromEntries(Object.entries(config.ttl).filter(([k]) => k !== 'RefreshedAccessToken')),
    // `RefreshedAccessToken` (seconds) lets a test start with a short-lived token and get a
    // long-lived one from the refresh, so "expired, then one refresh" needs no race.
    AccessToken: (ctx) => {
      const refreshed = ctx?.oidc?.params?.grant_type === 'refresh_token';
      if (refreshed && config.ttl.RefreshedAccessToken !== undefined) {
        return config.ttl.RefreshedAccessToken;
      }
      return config.ttl.AccessToken;
    },
  },
  // Quiet defaults that would otherwise print "you SHOULD change" notices.
  clientBasedCORS: () => false,
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    const rows = Object.entries(out)
      .map(([k, v]) => `<pre><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</pre>`)
      .join('');
    ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head>`
      + `<body><h1>oops! something went wrong</h1>${rows}</body></html>`;
  },
});

// Google knows no `offline_access` scope (it takes access_type=offline instead) and answers an
// authorization request naming one with its own error page, not a redirect: "Error 400:
// invalid_scope", "Some requested scopes were invalid. {valid=[...], invalid=[offline_access]}"
// (as reported in holoviz/panel#5815). oidc-provider would grant it silently.
function googleUnknownScopes(req, res) {
  const url = new URL(req.url, issuer);
  // Only the Google client plays Google; the server's other clients stay plain OpenID ones.
  if (url.searchParams.get('client_id') !== GOOGLE_DESKTOP_CLIENT.client_id) return false;
  const scopes = (url.searchParams.get('scope') || '').split(' ').filter(Boolean);
  const invalid = scopes.filter((s) => s === 'offline_access');
  if (invalid.length === 0) return false;
  const valid = scopes.filter((s) => s !== 'offline_access');
  const body = '<!DOCTYPE html><html><head><title>Error 400: invalid_scope</title></head><body>'
    + '<h1>Access blocked: Authorization Error</h1>'
    + `<p>Some requested scopes were invalid. {valid=[${escapeHtml(valid.join(', '))}], invalid=[${escapeHtml(invalid.join(', '))}]}</p>`
    + '<p>Error 400: invalid_scope</p></body></html>';
  req.resume();
  res.writeHead(400, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}

function isGoogleDesktop(client) {
  return config.google && client?.clientId === GOOGLE_DESKTOP_CLIENT.client_id;
}

// A client id of Google's form plays Google (a test may register more with `clients`); the
// server's other clients stay plain OpenID ones.
function isGoogleClient(client) {
  return config.google && String(client?.clientId).endsWith('.apps.googleusercontent.test');
}

function isGoogleDevice(client) {
  return config.google && client?.clientId === GOOGLE_DEVICE_CLIENT.client_id;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// Google mode's device flow, after oidc-provider has answered (its device flow runs underneath:
// codes, the user-code page, approval and the tokens are its own). Only what Google does
// differently is changed; each source is in GOOGLE.md, "Device flow".
function googleDeviceAnswer(ctx) {
  const { route, client } = ctx.oidc;
  const answer = (status, body) => {
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.body = body;
  };
  if (route === 'device_authorization') {
    // Any other Google client (a "Desktop app" one) is another client type: Google answers
    // 401 invalid_client.
    if (isGoogleClient(client) && !isGoogleDevice(client)) {
      return answer(401, {
        error: 'invalid_client',
        error_description: "Only clients of type 'TVs and Limited Input devices' can use the OAuth 2.0 "
          + 'flow for TV and Limited-Input Device Applications. Please create and use an appropriate client.',
      });
    }
    if (!isGoogleDevice(client) || ctx.status !== 200) return undefined;
    // A scope off Google's list fails the whole request, naming the first one. oidc-provider has
    // already stored a device code for it; nobody ever sees that code.
    const scopes = String(ctx.oidc.body?.scope || '').split(' ').filter(Boolean);
    const refused = scopes.find((s) => !GOOGLE_DEVICE_SCOPES.has(s));
    if (refused !== undefined) {
      return answer(400, { error: 'invalid_scope', error_description: `Invalid device flow scope: ${refused}` });
    }
    // Google names the address verification_url, gives no verification_uri_complete, and says
    // how often to poll.
    const { verification_uri: url, verification_uri_complete: _complete, ...rest } = ctx.body;
    return answer(200, { ...rest, verification_url: url, interval: config.googleDeviceInterval });
  }
  if (route !== 'token' || !isGoogleDevice(client) || ctx.oidc.body?.grant_type !== DEVICE_GRANT) {
    return undefined;
  }
  // Polling too often gets slow_down; only a poll oidc-provider found still pending is turned
  // into one, so no approved code is ever consumed unanswered.
  const deviceCode = String(ctx.oidc.params?.device_code || '');
  const now = Date.now();
  const last = googleLastPoll.get(deviceCode);
  googleLastPoll.set(deviceCode, now);
  const pending = ctx.body?.error === 'authorization_pending';
  // A little slack for timers: a client waiting the interval is never told to slow down.
  const tooSoon = last !== undefined && now - last < config.googleDeviceInterval * 1000 - 200;
  let error = ctx.status === 200 ? null : ctx.body?.error;
  if (pending && (tooSoon || googleSlowDowns > 0)) {
    if (!tooSoon) googleSlowDowns -= 1;
    error = 'slow_down';
  }
  stats.google_device_polls.push({ answer: error ?? 'tokens', since_last_ms: last === undefined ? null : now - last });
  switch (error) {
    case 'authorization_pending':
      return answer(428, { error, error_description: 'Precondition Required' });
    case 'slow_down':
    case 'access_denied':
      return answer(403, { error, error_description: 'Forbidden' });
    default:
      return undefined; // tokens, and expired_token's 400 (its body is undocumented)
  }
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

for (const name of ['token', 'revocation', 'userinfo', 'introspection']) {
  endpointPaths.set(provider.pathFor(name), name);
}

// Runs around oidc-provider's router: counts requests that reached an
// endpoint (by the grant_type oidc-provider itself parsed, so the request
// stream is never touched here), and implements issAuthResp / issDiscovery and
// Google mode's revocation errors and bare-issuer ID tokens.
provider.use(async (ctx, next) => {
  try {
    await next();
  } finally {
    // ctx.oidc only exists when one of the provider's routes matched.
    const route = ctx.oidc?.route;
    switch (route) {
      case 'token': {
        const grantType = ctx.oidc.body?.grant_type;
        if (grantType === 'authorization_code' || grantType === 'refresh_token') {
          stats.token[grantType] += 1;
          if (grantType === 'refresh_token' && !config.refreshTokenOnRefresh
              && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
            delete ctx.body.refresh_token;
          }
          if (expiresInRewrite && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
            if (expiresInRewrite.value === 'omit') delete ctx.body.expires_in;
            else ctx.body.expires_in = expiresInRewrite.value;
            expiresInRewrite.remaining -= 1;
            if (expiresInRewrite.remaining <= 0) expiresInRewrite = null;
          }
          if (config.googleBareIssuer && ctx.status === 200 && ctx.body?.id_token) {
            ctx.body.id_token = withBareIssuer(ctx.body.id_token);
          }
          if (config.tamper && ctx.status === 200 && ctx.body?.id_token) {
            ctx.body.id_token = await tamperIdToken(ctx.body.id_token, grantType, ctx.body);
          }
        } else {
          stats.token.other += 1;
          if (config.google) googleDeviceAnswer(ctx);
          if (grantType === DEVICE_GRANT && config.googleBareIssuer && ctx.status === 200 && ctx.body?.id_token) {
            ctx.body.id_token = withBareIssuer(ctx.body.id_token);
          }
        }
        break;
      }
      case 'device_authorization':
        if (config.google) googleDeviceAnswer(ctx);
        break;
      case 'revocation':
        stats.revocation += 1;
        if (config.google) googleRevocationError(ctx);
        break;
      case 'userinfo':
      case 'introspection':
        stats[route] += 1;
        if (route === 'userinfo' && config.tamper === 'userinfo-sub-mismatch'
            && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
          ctx.body.sub = 'someone-else';
        }
        break;
      default:
    }
  }

  if (ctx.path === provider.pathFor('jwks') && ctx.status === 200 && ctx.body?.keys) {
    ctx.body = { keys: tamperedJwks(ctx.body.keys) };
  }
  if (ctx.path === '/.well-known/openid-configuration' && config.tamper === 'discovery-issuer-mismatch'
      && ctx.body && typeof ctx.body === 'object') {
    ctx.body.issuer = `${issuer}/not-this-one`;
  }
  if (config.tamper === 'response-iss-mismatch') replaceIss(ctx, 'https://attacker.example');

  if (ctx.path === '/.well-known/openid-configuration'
    || ctx.path === '/.well-known/oauth-authorization-server') {
    if (ctx.body && typeof ctx.body === 'object' && config.issDiscovery !== true) {
      // oidc-provider always says true (lib/actions/discovery.js).
      if (config.issDiscovery === 'omit') delete ctx.body.authorization_response_iss_parameter_supported;
      else ctx.body.authorization_response_iss_parameter_supported = false;
    }
    return;
  }
  if (!config.issAuthResp) stripIss(ctx);
});

// Google mode: oidc-provider answers 200 to any revocation that passed client authentication
// (RFC 7009 2.2, lib/actions/revocation.js). Its revokeToken step records the token with
// ctx.oidc.entity(kind, token) only when findToken found a live revocable one (Model.find skips
// expired and destroyed tokens); without such an entity the token was unknown, expired or
// already revoked, and Google answers 400 (native-app#tokenrevoke; body as observed).
function googleRevocationError(ctx) {
  if (ctx.status !== 200) return; // client authentication or request errors stay as they are
  const entities = ctx.oidc.entities || {};
  if (entities.AccessToken || entities.RefreshToken || entities.ClientCredentials) return;
  ctx.status = 400;
  ctx.type = 'application/json';
  ctx.body = { error: 'invalid_token', error_description: 'Token expired or revoked' };
}

// googleBareIssuer: `iss` without the scheme, re-signed with the same key; header (alg, kid) kept.
function withBareIssuer(idToken) {
  const [headerB64, payloadB64] = idToken.split('.');
  const payload = JSON.parse(Buffer.from(payloadB64, 'base64url').toString('utf8'));
  payload.iss = bareIssuer;
  const newPayloadB64 = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signingInput = `${headerB64}.${newPayloadB64}`;
  const signature = crypto.sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

// ---------------------------------------------------------------------------
// Tamper modes
// ---------------------------------------------------------------------------

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** The private JWK that signs with this kid. */
function privateJwk(kid) {
  const jwk = [...signingKeys, spareKey].find((k) => k && k.kid === kid);
  if (!jwk) throw new Error(`no signing key ${kid}`);
  return jwk;
}

async function sign(header, payload, jwk) {
  const key = await importJWK(jwk, header.alg);
  return new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key);
}

/** at_hash of an access token for an RS256 / ES256 / PS256 token (OIDC Core 3.1.3.6). */
function atHash(accessToken) {
  const digest = crypto.createHash('sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The ID token of a token answer as the tamper mode has it; `body` is the whole answer. */
async function tamperIdToken(idToken, grantType, body) {
  const [headerB64, payloadB64, signatureB64] = idToken.split('.');
  const header = b64json(headerB64);
  const payload = b64json(payloadB64);
  const resign = async () => sign(header, payload, privateJwk(header.kid));
  const code = grantType === 'authorization_code';
  switch (config.tamper) {
    case 'sig-none':
      if (!code) return idToken;
      return `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payloadB64}.`;
    case 'bad-sig': {
      if (!code) return idToken;
      const signature = Buffer.from(signatureB64, 'base64url');
      signature[0] ^= 0x01;
      return `${headerB64}.${payloadB64}.${signature.toString('base64url')}`;
    }
    case 'iss-mismatch':
      if (!code) return idToken;
      payload.iss = 'https://attacker.example';
      return resign();
    case 'aud-mismatch':
      if (!code) return idToken;
      payload.aud = 'another-client';
      return resign();
    case 'azp-untrusted':
      if (!code) return idToken;
      payload.azp = 'untrusted-client';
      return resign();
    case 'iat-missing':
      if (!code) return idToken;
      delete payload.iat;
      return resign();
    case 'iat-stale':
      if (!code) return idToken;
      payload.iat -= 3600;
      return resign();
    case 'nonce-invalid':
      if (!code) return idToken;
      payload.nonce = 'not-the-nonce-sent';
      return resign();
    case 'nonce-missing':
      if (!code) return idToken;
      delete payload.nonce;
      return resign();
    case 'at-hash':
    case 'at-hash-wrong':
      if (!code) return idToken;
      payload.at_hash = atHash(config.tamper === 'at-hash' ? body.access_token : 'another-access-token');
      return resign();
    case 'kid-absent-single':
    case 'kid-absent-multiple': {
      if (!code) return idToken;
      const jwk = privateJwk(header.kid);
      delete header.kid;
      return sign(header, payload, jwk);
    }
    case 'key-rotation':
      if (code) return idToken;
      rotated = true;
      header.kid = spareKey.kid;
      return sign(header, payload, spareKey);
    case 'refresh-azp-added':
      if (code) return idToken;
      payload.azp = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
      return resign();
    default:
      return idToken;
  }
}

/** The published keys as the tamper mode has them (public parts only). */
function tamperedJwks(keys) {
  if (!spareKey) return keys;
  const spare = crypto.createPublicKey({ key: spareKey, format: 'jwk' }).export({ format: 'jwk' });
  const spareJwk = { ...spare, kid: spareKey.kid, alg: 'RS256', use: 'sig' };
  if (config.tamper === 'kid-absent-multiple') return [...keys, spareJwk];
  // key-rotation: the old RS256 key is retired once the new one signs.
  if (rotated) return [...keys.filter((k) => k.kid !== signingKey.kid), spareJwk];
  return keys;
}

/** Rewrites the `iss` of an authorization response redirect (query or fragment). */
function replaceIss(ctx, value) {
  const location = ctx.response.get('location');
  if (!location) return;
  let url;
  try {
    url = new URL(location, issuer);
  } catch {
    return;
  }
  if (url.origin === issuer || url.searchParams.get('iss') !== issuer) return;
  url.searchParams.set('iss', value);
  ctx.response.set('location', url.href);
}

// RFC 9207 is always on in oidc-provider 9; emulate a provider without it.
function stripIss(ctx) {
  const location = ctx.response.get('location');
  if (!location) return;
  let url;
  try {
    url = new URL(location, issuer);
  } catch {
    return;
  }
  if (url.origin === issuer) return; // a redirect within the IdP
  let changed = false;
  if (url.searchParams.get('iss') === issuer) {
    url.searchParams.delete('iss');
    changed = true;
  }
  if (url.hash) {
    const fragment = new URLSearchParams(url.hash.slice(1));
    if (fragment.get('iss') === issuer) {
      fragment.delete('iss');
      url.hash = fragment.toString();
      changed = true;
    }
  }
  if (changed) ctx.response.set('location', url.href);
}

provider.on('server_error', (ctx, err) => log('server_error', ctx.method, ctx.path, err));
if (VERBOSE) {
  for (const event of ['grant.error', 'authorization.error', 'revocation.error', 'userinfo.error', 'introspection.error']) {
    provider.on(event, (ctx, err) => log(event, err.message, err.error_description ?? ''));
  }
}

providerCallback = provider.callback();

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

announceAndStayTied(server, { issuer, port }, { log, verbose: VERBOSE });
log(`listening on ${issuer}`);
