/** Chooses the Python archive for the build: reads the request, gathers the archives on offer, resolves, logs why. */
import type { BuildContext } from '../cnb/context.js';
import { isTable } from '../cnb/toml.js';
import { fetchText, isDownloadCause } from '../download.js';
import { escapeControl } from '../escape-control.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../settings.js';
import { builtinArchives, manifestLocation, parseManifest, resolveArchive, type PythonArchive } from './archives.js';
import { readVersionRequest } from './version-request.js';
import { BuildpackError } from '../failure.js';

export async function choosePython(ctx: BuildContext, settings: Settings, log: Logger): Promise<PythonArchive> {
  const defaults = isTable(ctx.buildpack.metadata['default-versions']) ? ctx.buildpack.metadata['default-versions'] : {};
  const defaultVersion = String(defaults.python ?? '3');
  const request = readVersionRequest(ctx.appDir, settings.pythonVersion, defaultVersion);
  const from = request.source === 'default' ? 'the buildpack default' : request.source;
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
  log.info(`Selected Python ${chosen.version} for ${chosen.arch}${chosen.origin === 'manifest' ? ' from BP_PYTHON_DISTRIBUTIONS' : ''}`);
  return chosen;
}
