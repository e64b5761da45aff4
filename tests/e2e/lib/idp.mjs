// Starts the local OpenID provider (tests/idp/server.mjs) and talks to its endpoints the way
// an API tool would: userinfo and introspection with a copied token.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Confidential client of the test provider, allowed to introspect. */
const INTROSPECTOR = { id: 'keyfob-confidential', secret: 'confidential-secret-value' };

// Rarely node stalls before its ready line (seen a few times in thousands of starts, never
// reproduced in isolation); the provider is test infrastructure, so a stalled start is
// retried with a fresh process and reported, like tests/testkit/src/idp.rs does.
const START_ATTEMPTS = 3;
const READY_MS = 10000;

export async function startIdp(serverPath) {
  const stalls = [];
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const started = await startOnce(serverPath);
    if (started.stalled) {
      stalls.push(started.stderr);
      continue;
    }
    if (stalls.length) console.error(`[e2e] the IdP stalled at start and was restarted: ${JSON.stringify(stalls)}`);
    return started.idp;
  }
  throw new Error(`the IdP did not start in ${START_ATTEMPTS} attempts: ${JSON.stringify(stalls)}`);
}

async function startOnce(serverPath) {
  // stdin stays open: the server exits when it closes, so it never outlives the test.
  const child = spawn(process.execPath, [serverPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), READY_MS);
    child.on('exit', (code) => reject(new Error(`the IdP exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  if (!ready) {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    return { stalled: true, stderr };
  }
  return { idp: await connect(child, ready) };
}

async function connect(child, ready) {
  const discovery = await (await fetch(`${ready.issuer}/.well-known/openid-configuration`)).json();
  return {
    issuer: ready.issuer,
    discovery,
    stop: () => child.kill('SIGTERM'),

    async userinfo(token) {
      const r = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: await r.json().catch(() => null) };
    },

    async introspect(token) {
      const basic = Buffer.from(`${INTROSPECTOR.id}:${INTROSPECTOR.secret}`).toString('base64');
      const r = await fetch(discovery.introspection_endpoint ?? `${ready.issuer}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      if (!r.ok) throw new Error(`introspection answered ${r.status}`);
      return r.json();
    },

    async stats() {
      return (await fetch(`${ready.issuer}/__test/stats`)).json();
    },

    /** The next `count` requests to `endpoint` fail in `mode` (the test hook of that name). */
    async failNext(endpoint, mode, count = 1) {
      const r = await fetch(`${ready.issuer}/__test/fail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint, mode, count }),
      });
      if (!r.ok) throw new Error(`fail hook answered ${r.status}`);
    },

    /** The next `count` token answers say `expires_in: value` (the test hook of that name). */
    async expiresIn(value, count = 1) {
      const r = await fetch(`${ready.issuer}/__test/expires_in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value, count }),
      });
      if (!r.ok) throw new Error(`expires_in hook answered ${r.status}`);
    },
  };
}
