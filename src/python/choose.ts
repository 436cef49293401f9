/** Chooses the Python archive for the build: reads the request, gathers the archives on offer, resolves, logs why. */
import type { BuildContext } from '../cnb/context.js';
import { isTable } from '../cnb/toml.js';
import { fetchText, isDownloadCause } from '../download.js';
import { escapeControl } from '../escape-control.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../settings.js';
import { builtinArchives, manifestLocation, parseManifest, resolveArchive, type PythonArchive } from './archives.js';
import { describeSource, readVersionRequest, type VersionRequest } from './version-request.js';
import type { Lockfile } from '../lock/model.js';
import { satisfies, validRange } from '@renovatebot/pep440';
import { BuildpackError } from '../failure.js';

/**
 * `lock`: the lockfile the build installs; its requires-python is a version source after pyproject.toml, and
 * a chosen Python outside it stops the build naming both (issue 14, item 6).
 */
export async function choosePython(ctx: BuildContext, settings: Settings, log: Logger, lock?: Pick<Lockfile, 'file' | 'requiresPython'>): Promise<PythonArchive> {
  const defaults = isTable(ctx.buildpack.metadata['default-versions']) ? ctx.buildpack.metadata['default-versions'] : {};
  const defaultVersion = String(defaults.python ?? '3');
  const request = readVersionRequest(ctx.appDir, settings.pythonVersion, defaultVersion, lock);
  const from = describeSource(request);
  log.info(`Requested Python ${escapeControl(request.written)} (from ${from})`);

  const archives = builtinArchives(ctx.buildpack.metadata);
  if (settings.pythonDistributions) {
    const where = manifestLocation(settings.pythonDistributions, ctx.appDir);
    let text: string;
    try {
      text = await fetchText(where.url, log, settings.download);
    } catch (err) {
      const reason = err instanceof BuildpackError && isDownloadCause(err.cause) ? err.cause : { type: 'io' as const, detail: err instanceof Error ? err.message : String(err) };
      throw new BuildpackError({ type: 'manifest-unreadable', where: where.shown, reason }, err);
    }
    const extra = parseManifest(text, where.shown);
    log.info(`Added ${extra.length} Python archive(s) from ${escapeControl(where.shown)} (BP_PYTHON_DISTRIBUTIONS)`);
    archives.push(...extra);
  }
  const chosen = resolveArchive(request, archives, ctx.target.arch);
  checkLockPython(chosen.version, request, lock);
  log.info(`Selected Python ${chosen.version} for ${chosen.arch}${chosen.origin === 'manifest' ? ' from BP_PYTHON_DISTRIBUTIONS' : ''}`);
  return chosen;
}

/** The chosen version is inside the lock's requires-python (a range that is no PEP 440 specifier checks nothing). */
export function checkLockPython(version: string, request: VersionRequest, lock: Pick<Lockfile, 'file' | 'requiresPython'> | undefined): void {
  const range = lock?.requiresPython?.trim();
  if (lock === undefined || range === undefined || range === '' || !validRange(range)) return;
  if (satisfies(version, range)) return;
  throw new BuildpackError({ type: 'lock-python-mismatch', file: lock.file, requiresPython: range, python: version, source: describeSource(request) });
}
