// A minimal W3C WebDriver client over fetch: enough to drive Keyfob's window through
// WebKitWebDriver (the direct route measured reliable on this machine; tauri-driver's proxy
// dropped connections).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
/** WebDriver's code points of the keys the test presses. */
const KEYS = { Tab: '\uE004', Enter: '\uE007', Escape: '\uE00C', Space: '\uE00D' };

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts WebKitWebDriver with `env` (which the app it launches inherits). */
export async function startDriver(env) {
  const port = await freePort();
  const child = spawn('WebKitWebDriver', [`--port=${port}`], {
    env: { ...env, TAURI_WEBVIEW_AUTOMATION: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 15000;
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null || Date.now() > until) {
      throw new Error(`WebKitWebDriver did not start: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    base,
    stop: () => child.kill('SIGTERM'),
    stderr: () => stderr,
  };
}

export async function newSession(driver, binary, args = []) {
  const r = await call(driver.base, 'POST', '/session', {
    capabilities: {
      alwaysMatch: { 'webkitgtk:browserOptions': { binary, args } },
    },
  });
  return new Session(driver.base, r.sessionId);
}

async function call(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) {
    const v = json.value ?? {};
    const err = new Error(`${method} ${path}: ${v.error ?? r.status} ${v.message ?? ''}`);
    err.code = v.error;
    throw err;
  }
  return json.value;
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return new Element(this, v[ELEMENT], css);
  }

  /**
   * Finds `css` and clicks it. The list re-renders when the store changes (the window polls
   * it every 2 s), which can replace the node between the find and the click: then the click
   * never happened, and it is tried again on the new node, for up to 5 s.
   */
  async click(css) {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        return await (await this.find(css)).click();
      } catch (e) {
        if (e.code !== 'stale element reference' || Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }

  async findAll(css) {
    const list = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return list.map((v) => new Element(this, v[ELEMENT]));
  }

  /** Waits until `css` matches a (displayed) element. */
  async waitFor(css, { timeout = 15000, what } = {}) {
    return this.until(async () => {
      const [el] = await this.findAll(css);
      if (el) el.css = css; // the first match: it can be found again (see Element)
      return el && (await el.displayed()) ? el : null;
    }, timeout, what ?? css);
  }

  async waitGone(css, { timeout = 15000 } = {}) {
    return this.until(async () => ((await this.findAll(css)).length === 0 ? true : null), timeout, `${css} to go`);
  }

  until(probe, timeout, what) {
    return until(probe, timeout, what);
  }

  script(source, args = []) {
    return this.cmd('POST', '/execute/sync', { script: source, args });
  }

  /** Waits for the page to paint what the last command changed (screenshots lag otherwise). */
  async settle(ms = 300) {
    try {
      await this.cmd('POST', '/execute/async', {
        script: `const done = arguments[arguments.length - 1];
          requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true), ${ms})));`,
        args: [],
      });
    } catch {
      // Best effort: WebKitWebDriver occasionally fails to read an async script's result.
      await sleep(ms);
    }
  }

  /** Presses `keys` one after another (WebDriver key actions: Tab, Enter, Escape, ...). */
  async press(...keys) {
    for (const key of keys) {
      const value = KEYS[key] ?? key;
      await this.cmd('POST', '/actions', {
        actions: [{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value }, { type: 'keyUp', value }] }],
      });
    }
    await this.cmd('DELETE', '/actions').catch(() => undefined);
  }

  async screenshot() {
    await this.settle();
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  async close() {
    await this.cmd('DELETE', '').catch(() => undefined);
  }
}

/**
 * An element found by WebDriver. One found as the first match of a selector (`find`,
 * `waitFor`) survives a re-render: the store watcher's reload replaces the list's nodes every
 * so often, and a command that meets the stale node is sent again to the selector's new first
 * match, for up to 5 s.
 */
class Element {
  constructor(session, id, css = null) {
    this.s = session;
    this.id = id;
    this.css = css;
  }

  async on(method, what, body) {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        return await this.s.cmd(method, `/element/${this.id}${what}`, body);
      } catch (e) {
        if (e.code !== 'stale element reference' || !this.css || Date.now() > deadline) throw e;
        await sleep(100);
        const again = await this.s.cmd('POST', '/element', { using: 'css selector', value: this.css }).catch(() => null);
        if (again) this.id = again[ELEMENT];
      }
    }
  }

  click() {
    return this.on('POST', '/click', {});
  }

  async clear() {
    await this.on('POST', '/clear', {});
  }

  type(text) {
    return this.on('POST', '/value', { text });
  }

  text() {
    return this.on('GET', '/text');
  }

  displayed() {
    return this.on('GET', '/displayed');
  }

  attr(name) {
    return this.on('GET', `/attribute/${name}`);
  }

  enabled() {
    return this.on('GET', '/enabled');
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy (which is returned) or `timeout` ms pass. */
export async function until(probe, timeout, what) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${last.message})` : ''}`);
    await sleep(100);
  }
}
