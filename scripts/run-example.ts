/**
 * The main job: builds examples/flask-hello through the buildpack with the local platform and serves it on
 * http://127.0.0.1:8080 until Ctrl-C.
 *
 *   npm run example             offline: Python packed from this machine's pyenv and served from loopback,
 *                               packages from the local wheelhouse (as the tests do)
 *   npm run example -- --online the real python-build-standalone download and the default package index
 */
import { E2E, REPO } from '../test/e2e/support.js';
import path from 'node:path';

const online = process.argv.includes('--online');
const port = process.env.PORT ?? '8080';
const e2e = await E2E.start();
const stop = async (): Promise<void> => {
  await e2e.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

const app = await e2e.app(path.join(REPO, 'examples', 'flask-hello'));
const env = online ? {} : await e2e.env('3.11');
console.log(`Building examples/flask-hello (${online ? 'online' : 'offline: local Python archive and wheelhouse'})...`);
const res = await e2e.platform.build(app, { platformEnv: env });
// The log exactly as bin/build wrote it (colours and real step durations included).
process.stdout.write(res.output);
if (!res.success) {
  console.error('\nThe build failed.');
  await e2e.stop();
  process.exit(1);
}
const proc = await e2e.platform.launch(res, { env: { PORT: port } });
const http = await proc.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 30_000 });
console.log(`\nServing on http://127.0.0.1:${port}/ (first answer after ${http.elapsedMs} ms): ${http.body.trim()}`);
console.log('Press Ctrl-C to stop.');
if (process.argv.includes('--once')) await stop();
