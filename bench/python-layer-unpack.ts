// Helper of bench/python-layer.ts, run with bun (the runtime the buildpack is compiled with): downloads,
// verifies and unpacks one archive with the buildpack's own code, exactly as the python layer does it, and
// prints the milliseconds taken. Usage: bun bench/python-layer-unpack.ts <url> <sha256> <dest (must not exist)>
import { ExtractingSink, stagingDirFor } from '../src/archive/extract.js';
import { downloadVerified, DEFAULT_DOWNLOAD_OPTIONS } from '../src/download.js';
import { Logger } from '../src/logger.js';

const [url, sha256, dest] = process.argv.slice(2);
if (!url || !sha256 || !dest) throw new Error('usage: python-layer-unpack.ts <url> <sha256> <dest>');
const log = new Logger({ write: () => true }, undefined, false, false);
const start = performance.now();
const sink = new ExtractingSink(stagingDirFor(dest));
await downloadVerified(url, sink, sha256, log, DEFAULT_DOWNLOAD_OPTIONS);
sink.commit(dest);
console.log((performance.now() - start).toFixed(1));
