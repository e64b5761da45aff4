// Where the end-to-end tests find the checkout, the built app and CLI, and where they put
// screenshots. KEYFOB_APP_BINARY and KEYFOB_CLI_BINARY point them at other builds.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
/** The desktop app. */
export const binary = process.env.KEYFOB_APP_BINARY ?? join(targetDir, 'debug/keyfob-app');
/** The `keyfob` command line. */
export const cli = process.env.KEYFOB_CLI_BINARY ?? join(targetDir, 'debug/keyfob');
export const artifacts = join(root, 'tests/artifacts/e2e');
