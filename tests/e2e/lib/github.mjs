// Starts the local GitHub stand-in (tests/github/server.mjs, see tests/github/QUIRKS.md): a
// web origin with GitHub's sign-in and authorization pages and a REST API under /api/v3, like
// a GitHub Enterprise Server.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const READY_MS = 10000;

/** `config`: merged over the server's defaults (written to `configPath`). */
export async function startGithub(serverPath, configPath, config) {
  writeFileSync(configPath, JSON.stringify(config));
  // stdin stays open: the server exits when it closes, so it never outlives the test.
  const child = spawn(process.execPath, [serverPath, configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the GitHub stand-in did not start: ${stderr}`)), READY_MS);
    child.on('exit', (code) => reject(new Error(`the GitHub stand-in exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  child.removeAllListeners('exit');
  return {
    base: ready.base,
    api: ready.api,
    stop: () => child.kill('SIGTERM'),
    async stats() {
      return (await fetch(`${ready.base}/__test/stats`)).json();
    },
  };
}
