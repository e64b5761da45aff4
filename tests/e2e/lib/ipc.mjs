// Records every IPC call and event of Keyfob's page, so the test can check that no secret
// ever crossed into the webview.
//
// @tauri-apps/api calls `window.__TAURI_INTERNALS__.invoke(cmd, args)`, and events (and each
// invoke's answer) come back through callbacks registered with `transformCallback` and run by
// `runCallback(id, data)`. Tauri defines those three with Object.defineProperty and a bare
// `value` (tauri scripts/core.js): not writable, not configurable, so they cannot be wrapped.
// The recorder therefore taps the two places they go through, which are replaceable:
// - the transport: `invoke` sends every command as fetch(`ipc://localhost/<cmd>`, {body: args})
//   (scripts/ipc-protocol.js), or through `window.ipc.postMessage` when that protocol fails;
//   both are wrapped, and each answer is recorded with its command;
// - the callback table `__TAURI_INTERNALS__.callbacks` (a Map that core.js exposes): its
//   `get`, which `runCallback` uses for every answer and every event, is shadowed on the
//   instance, so each callback's argument is recorded, for callbacks registered before the
//   recorder too (the listeners the page set up at start).
// Entries are JSON strings in `window.__keyfobIpcLog`. A reload or a new window loses them:
// `drain` moves them to the Node side, and `install` is run again on each new window.

const RECORDER = `
  if (window.__keyfobIpcLog) return 'already';
  const log = [];
  Object.defineProperty(window, '__keyfobIpcLog', { value: log });
  const text = (v) => {
    if (v instanceof ArrayBuffer) return new TextDecoder().decode(v);
    if (ArrayBuffer.isView(v)) return new TextDecoder().decode(v);
    return v;
  };
  const put = (entry) => {
    try {
      log.push(JSON.stringify(entry));
    } catch (e) {
      log.push(JSON.stringify({ kind: 'unrecordable', what: String(e) }));
    }
  };
  const internals = window.__TAURI_INTERNALS__;
  const writable = (name) => {
    const d = Object.getOwnPropertyDescriptor(internals, name);
    return !!d && (d.writable || d.configurable);
  };
  put({ kind: 'recorder', invokeWritable: writable('invoke'), transformCallbackWritable: writable('transformCallback') });

  const realFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input && input.url;
    if (typeof url !== 'string' || !url.startsWith('ipc:')) return realFetch.apply(this, arguments);
    const cmd = decodeURIComponent(new URL(url).pathname.slice(1));
    const headers = new Headers((init && init.headers) || {});
    put({ kind: 'invoke', cmd, args: text(init && init.body), callback: headers.get('Tauri-Callback'), error: headers.get('Tauri-Error') });
    const answer = realFetch.apply(this, arguments);
    answer.then(
      (r) => r.clone().text().then((body) => put({ kind: 'result', cmd, ok: r.headers.get('Tauri-Response') === 'ok', body })),
      (e) => put({ kind: 'result', cmd, ok: false, body: String(e) }),
    );
    return answer;
  };
  if (window.ipc && typeof window.ipc.postMessage === 'function') {
    try {
      const realPost = window.ipc.postMessage.bind(window.ipc);
      window.ipc.postMessage = (data) => {
        put({ kind: 'invoke-postmessage', data: text(data) });
        return realPost(data);
      };
    } catch (e) {
      put({ kind: 'recorder', postMessage: 'not wrapped: ' + e });
    }
  }

  const callbacks = internals.callbacks;
  const realGet = Map.prototype.get.bind(callbacks);
  Object.defineProperty(callbacks, 'get', {
    value: (id) => {
      const f = realGet(id);
      if (typeof f !== 'function') return f;
      return (data) => {
        put({ kind: 'callback', id, data: text(data) });
        return f(data);
      };
    },
  });
  return 'installed';
`;

/** The page's IPC, recorded across windows. */
export class IpcLog {
  constructor() {
    /** Entries (parsed) of windows already drained. */
    this.entries = [];
  }

  /** Starts recording in the session's window. */
  async install(s) {
    return s.script(RECORDER);
  }

  /** Moves what the window recorded so far to this log. */
  async drain(s) {
    const lines = await s.script('return window.__keyfobIpcLog ? window.__keyfobIpcLog.splice(0) : null');
    if (lines === null) throw new Error('the IPC recorder is not installed in this window');
    for (const line of lines) this.entries.push({ line, entry: JSON.parse(line) });
    return lines.length;
  }

  commands() {
    return this.entries.filter((e) => e.entry.kind === 'invoke').map((e) => e.entry.cmd);
  }

  events() {
    return this.entries
      .filter((e) => e.entry.kind === 'callback' && e.entry.data && typeof e.entry.data === 'object' && 'event' in e.entry.data)
      .map((e) => e.entry.data);
  }

  /** Entries whose text contains `value`. */
  containing(value) {
    return this.entries.filter((e) => e.line.includes(value) || e.line.includes(JSON.stringify(value).slice(1, -1)));
  }
}
