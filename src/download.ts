/**
 * Downloads, one code path for all of them: streamed to a sink while hashed, with a timeout for the response
 * and for each read, a size limit, retries with backoff on network errors and 5xx, progress lines at most
 * every few seconds. Python archives have their sha256 checked before they are handed back
 * (downloadVerified); the distributions manifest is read into memory under a small size limit (fetchText).
 * http, https and file URLs; a local file the build cannot read is reported at once, not retried.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Cause, DownloadCause } from './causes.js';
import { BuildpackError } from './failure.js';
import { formatBytes, type Logger } from './logger.js';
import { maskSecrets } from './secrets.js';

export interface DownloadOptions {
  /** Seconds to wait for a response, and between two reads of the body. */
  timeoutSeconds: number;
  attempts: number;
  /** Base of the exponential backoff between attempts, in ms. */
  backoffMs: number;
  /** Refuse bodies larger than this (a guard against a hostile or broken server). */
  maxBytes: number;
  progressIntervalMs: number;
}

/**
 * The size limit of a distributions manifest. An entry (version, uri, sha256, arch) is 200 to 300 bytes of
 * JSON or TOML, so 1 MiB holds several thousand: more than every CPython build python-build-standalone has
 * published for one architecture. Held in memory and parsed whole, it costs bin/build nothing noticeable.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export const DEFAULT_DOWNLOAD_OPTIONS: DownloadOptions = {
  timeoutSeconds: 30,
  attempts: 4,
  backoffMs: 500,
  maxBytes: 1024 * 1024 * 1024,
  progressIntervalMs: 3000,
};

const downloadError = (cause: DownloadCause): BuildpackError => new BuildpackError(cause);

// A record, not a list: a DownloadCause left out of it is a type error.
const DOWNLOAD_CAUSES: Record<DownloadCause['type'], true> = {
  'download-bad-url': true, 'download-not-found': true, 'download-server-error': true, 'download-http-status': true,
  'download-network': true, 'download-stalled': true, 'download-truncated': true, 'download-too-large': true,
  'checksum-mismatch': true, 'bundled-checksum-mismatch': true, 'download-file-unreadable': true,
};

export function isDownloadCause(c: Cause): c is DownloadCause {
  return Object.hasOwn(DOWNLOAD_CAUSES, c.type);
}

/** A failure worth another attempt (network error, 5xx, timeout), or one that is final (404, checksum). */
class AttemptError extends Error {
  constructor(readonly retry: boolean, readonly final: Error, readonly brief = final.message.split('\n')[0] ?? '') {
    super(final.message);
  }
}

/**
 * Where a download's bytes go, attempt by attempt (a retry starts afresh with `begin`). An error from `write`
 * or `end` does not stop the download: the rest is still read and hashed, so that a file that is not the
 * expected one is reported as a checksum mismatch; only a verified file's own error is reported.
 */
export interface DownloadSink {
  begin(): void | Promise<void>;
  write(chunk: Uint8Array): void | Promise<void>;
  /** Every byte arrived; the checksum is compared after this. */
  end(): void | Promise<void>;
  /** The attempt failed: drop what was written. */
  discard(): void | Promise<void>;
}

/** Keeps the bytes in memory: only for downloads whose size limit is small (a manifest). */
function memorySink(): DownloadSink & { bytes(): Buffer } {
  let chunks: Uint8Array[] = [];
  return {
    begin: () => {
      chunks = [];
    },
    write: (chunk) => {
      chunks.push(chunk);
    },
    end: () => undefined,
    discard: () => {
      chunks = [];
    },
    bytes: () => Buffer.concat(chunks),
  };
}

function fileSink(dest: string): DownloadSink {
  let out: fs.WriteStream | undefined;
  return {
    begin: () => {
      out = fs.createWriteStream(dest);
    },
    write: async (chunk) => {
      if (out && !out.write(chunk)) await new Promise((r) => out?.once('drain', r));
    },
    end: () => new Promise<void>((resolve, reject) => (out ? out.end((err?: Error | null) => (err ? reject(err) : resolve())) : resolve())),
    discard: () => {
      out?.destroy();
      fs.rmSync(dest, { force: true });
    },
  };
}

/** Downloads `url` into the file `dest`, or streams it into `sink`, and checks its sha256; retries as described above. */
export async function downloadVerified(
  url: string,
  dest: string | DownloadSink,
  sha256: string,
  log: Logger,
  opts: DownloadOptions = DEFAULT_DOWNLOAD_OPTIONS,
): Promise<void> {
  await download(url, typeof dest === 'string' ? fileSink(dest) : dest, sha256, log, opts);
}

/**
 * Reads a small document (the distributions manifest) into memory, through the same download as the archives:
 * the same timeouts, retries and backoff, and a size limit of `maxBytes`. No checksum: the manifest is where
 * the checksums come from.
 */
export async function fetchText(url: string, log: Logger, opts: DownloadOptions = DEFAULT_DOWNLOAD_OPTIONS, maxBytes = MAX_MANIFEST_BYTES): Promise<string> {
  const sink = memorySink();
  await download(url, sink, undefined, log, { ...opts, maxBytes });
  return sink.bytes().toString('utf8');
}

/** The retry loop every download goes through; `sha256` undefined: the bytes are not checked. */
async function download(url: string, sink: DownloadSink, sha256: string | undefined, log: Logger, opts: DownloadOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await attemptDownload(url, sink, sha256, log, opts);
      return;
    } catch (err) {
      await sink.discard();
      const e = err instanceof AttemptError ? err : new AttemptError(false, err as Error);
      if (!e.retry || attempt >= opts.attempts) throw e.final;
      const wait = opts.backoffMs * 2 ** (attempt - 1);
      log.detail(`${e.brief}; retrying in ${(wait / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${opts.attempts})`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function attemptDownload(url: string, sink: DownloadSink, sha256: string | undefined, log: Logger, opts: DownloadOptions): Promise<void> {
  const shown = maskSecrets(url);
  const { body, total } = await open(url, opts);
  const hash = crypto.createHash('sha256');
  let sinkError: unknown;
  let received = 0;
  const started = Date.now();
  let lastProgress = started;
  const reader = body.getReader();
  await sink.begin();
  try {
    for (;;) {
      const { done, value } = await withTimeout(reader.read(), opts.timeoutSeconds, () =>
        new AttemptError(true, downloadError({ type: 'download-stalled', url: shown, seconds: opts.timeoutSeconds }), `No data for ${opts.timeoutSeconds}s`),
      );
      if (done) break;
      received += value.byteLength;
      if (received > opts.maxBytes) throw new AttemptError(false, downloadError({ type: 'download-too-large', url: shown, maxBytes: opts.maxBytes }));
      hash.update(value);
      if (sinkError === undefined) {
        try {
          await sink.write(value);
        } catch (err) {
          sinkError = err;
        }
      }
      const now = Date.now();
      if (now - lastProgress >= opts.progressIntervalMs) {
        lastProgress = now;
        const rate = received / ((now - started) / 1000);
        const pct = total ? `${Math.floor((received / total) * 100)}% (${formatBytes(received)} of ${formatBytes(total)})` : formatBytes(received);
        log.detail(`Downloaded ${pct} at ${formatBytes(rate)}/s`);
      }
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    if (err instanceof AttemptError) throw err;
    if (total !== undefined && received < total) {
      // The server announced more than it sent: say so, rather than pass on the socket error alone.
      throw new AttemptError(true, downloadError({ type: 'download-truncated', url: shown, got: received, expected: total }), `Connection lost after ${received} of ${total} bytes (${errorText(err)})`);
    }
    throw new AttemptError(true, downloadError({ type: 'download-network', url: shown, detail: errorText(err) }), `Connection lost: ${errorText(err)}`);
  }
  if (total !== undefined && received !== total) throw new AttemptError(true, downloadError({ type: 'download-truncated', url: shown, got: received, expected: total }), `Received ${received} of ${total} bytes`);
  if (sinkError === undefined) {
    try {
      await sink.end();
    } catch (err) {
      sinkError = err;
    }
  }
  const actual = hash.digest('hex');
  if (sha256 !== undefined && actual !== sha256.toLowerCase()) throw new AttemptError(false, downloadError({ type: 'checksum-mismatch', url: shown, expected: sha256, actual }));
  // Only now, with the bytes verified, is the sink's own failure (say, an unsafe archive entry) the answer.
  if (sinkError !== undefined) throw new AttemptError(false, sinkError instanceof Error ? sinkError : new Error(String(sinkError)));
}

/** The sha256 of a file on disk, in lowercase hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks an archive that came with the buildpack (an offline package) as strictly as a download. */
export async function verifyBundledFile(file: string, sha256: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== sha256.toLowerCase()) throw downloadError({ type: 'bundled-checksum-mismatch', file, expected: sha256, actual });
}

async function open(url: string, opts: DownloadOptions): Promise<{ body: ReadableStream<Uint8Array>; total: number | undefined }> {
  const shown = maskSecrets(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AttemptError(false, downloadError({ type: 'download-bad-url', url: shown }));
  }
  if (parsed.protocol === 'file:') return openLocal(fileURLToPath(parsed), shown);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AttemptError(false, downloadError({ type: 'download-bad-url', url: shown }));
  const controller = new AbortController();
  let res: Response;
  try {
    res = await withTimeout(fetch(url, { signal: controller.signal, redirect: 'follow' }), opts.timeoutSeconds, () => {
      controller.abort();
      return new AttemptError(true, downloadError({ type: 'download-stalled', url: shown, seconds: opts.timeoutSeconds }), `No response for ${opts.timeoutSeconds}s`);
    });
  } catch (err) {
    if (err instanceof AttemptError) throw err;
    throw new AttemptError(true, downloadError({ type: 'download-network', url: shown, detail: errorText(err) }), `Could not connect: ${errorText(err)}`);
  }
  if (res.status === 404 || res.status === 410) throw new AttemptError(false, downloadError({ type: 'download-not-found', url: shown, detail: `HTTP ${res.status}` }));
  if (res.status >= 500) throw new AttemptError(true, downloadError({ type: 'download-server-error', url: shown, status: res.status }), `HTTP ${res.status} from the server`);
  if (!res.ok || !res.body) throw new AttemptError(false, downloadError({ type: 'download-http-status', url: shown, status: res.status }));
  const length = Number(res.headers.get('content-length'));
  if (Number.isFinite(length) && length > opts.maxBytes) throw new AttemptError(false, downloadError({ type: 'download-too-large', url: shown, maxBytes: opts.maxBytes }));
  return { body: res.body, total: Number.isFinite(length) && length > 0 ? length : undefined };
}

/**
 * A file: URL. Its file is opened before a byte is read, so that a file the build user may not read is
 * reported once, naming the file, instead of being retried as a network failure: no retry changes a
 * permission. Only regular files: a directory, a FIFO (which would block the open) or a device is refused.
 */
async function openLocal(file: string, shown: string): Promise<{ body: ReadableStream<Uint8Array>; total: number | undefined }> {
  const unreadable = (err: unknown): AttemptError => {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' || code === 'ENOTDIR') return new AttemptError(false, downloadError({ type: 'download-not-found', url: shown, detail: 'no such file' }));
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission-denied' : 'other';
    return new AttemptError(false, downloadError({ type: 'download-file-unreadable', url: shown, file, reason, detail: errorText(err), uid: process.getuid?.() }));
  };
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    throw unreadable(err);
  }
  if (!stat.isFile()) throw new AttemptError(false, downloadError({ type: 'download-file-unreadable', url: shown, file, reason: 'not-a-file', detail: stat.isDirectory() ? 'a directory' : 'not a regular file', uid: process.getuid?.() }));
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw unreadable(err);
  }
  const stream = handle.createReadStream(); // closes the handle when it ends or is destroyed
  return { body: Readable.toWeb(stream) as ReadableStream<Uint8Array>, total: stat.size };
}

async function withTimeout<T>(promise: Promise<T>, seconds: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The innermost message of an error (fetch wraps the socket error in `cause`). */
function errorText(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\.? For more information, pass `verbose: true`.*$/s, ''); // bun's fetch adds a hint for its own developers
}
