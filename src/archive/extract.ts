/**
 * Entry points of extraction: a download sink that unpacks while the bytes arrive, and the extraction of an
 * archive file on disk. Both stage beside the destination and move the top folder into place at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DownloadSink } from '../download.js';
import { BuildpackError } from '../failure.js';
import { archiveError, DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './limits.js';
import { TarGzExtractor } from './extractor.js';

/** Where the extraction for `dest` is staged: beside it, on the same filesystem, so the final move is a rename. */
export function stagingDirFor(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}-staging`);
}

/**
 * A download sink that unpacks the archive while it arrives. Each attempt starts in a fresh staging directory;
 * `commit(dest)` is for the caller to call once downloadVerified() has checked the sha256, and not before.
 */
export class ExtractingSink implements DownloadSink {
  private extractor: TarGzExtractor | undefined;

  constructor(private readonly staging: string, private readonly limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS) {}

  begin(): void {
    this.extractor?.discard();
    this.extractor = new TarGzExtractor(this.staging, this.limits);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.current().write(chunk);
  }

  end(): Promise<void> {
    return this.current().finish();
  }

  discard(): void {
    this.extractor?.discard();
    this.extractor = undefined;
  }

  commit(dest: string): void {
    const extractor = this.current();
    this.extractor = undefined;
    extractor.commit(dest);
  }

  private current(): TarGzExtractor {
    if (!this.extractor) throw archiveError({ type: 'archive-corrupt', detail: 'no extraction is under way' });
    return this.extractor;
  }
}

/**
 * Unpacks the .tar.gz file `archive` so that the contents of its single top folder (`python/` in
 * python-build-standalone archives) become `dest`. `dest` must not exist.
 */
export async function extractTarGz(archive: string, dest: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> {
  const extractor = new TarGzExtractor(stagingDirFor(dest), limits);
  try {
    for await (const chunk of fs.createReadStream(archive, { highWaterMark: 256 * 1024 })) await extractor.write(chunk as Buffer);
    await extractor.finish();
    extractor.commit(dest);
  } catch (err) {
    extractor.discard();
    if (err instanceof BuildpackError) throw err;
    throw archiveError({ type: 'archive-corrupt', detail: err instanceof Error ? err.message : String(err) });
  }
}
