/**
 * Django's collectstatic at build, as the seed builder ran it: when Django is installed and a manage.py exists
 * (the shallowest within three levels, of APP_HOME when it is set, as s2i's assemble runs it from there),
 * unless DISABLE_COLLECTSTATIC is set. An app whose settings leave out
 * staticfiles is skipped with a log line; any other failure stops the build with Django's own message.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Env } from './cnb/env.js';
import { BuildpackError } from './failure.js';
import type { Executor } from './deps.js';
import { escapeControl } from './escape-control.js';
import type { Logger } from './logger.js';
import { withAppOnPath } from './start/app-home.js';

/** The shallowest manage.py within `maxDepth` levels (the app root is level 0), breadth first, sorted by name. */
export function findManagePy(appDir: string, maxDepth = 3): string | undefined {
  let level = [appDir];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (fs.existsSync(path.join(dir, 'manage.py'))) return path.join(dir, 'manage.py');
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') next.push(path.join(dir, e.name));
      }
    }
    level = next;
  }
  return undefined;
}

export type CollectstaticOutcome = 'collected' | 'disabled' | 'no-django' | 'no-manage-py' | 'staticfiles-not-installed';

export async function collectstatic(opts: {
  appDir: string;
  /** APP_HOME, where manage.py is looked for (the app's top folder stays importable); else the app. */
  startDir?: string;
  env: Env;
  python: string;
  djangoInstalled: boolean;
  disabled: boolean;
  log: Logger;
  exec: Executor;
}): Promise<CollectstaticOutcome> {
  const { log } = opts;
  if (!opts.djangoInstalled) return 'no-django';
  const startDir = opts.startDir ?? opts.appDir;
  const manage = findManagePy(startDir);
  if (!manage) return 'no-manage-py';
  log.header('Collecting Django static files');
  if (opts.disabled) {
    log.info('Skipping collectstatic: DISABLE_COLLECTSTATIC is set');
    return 'disabled';
  }
  const rel = path.relative(opts.appDir, manage);
  log.info(`Running 'python ${escapeControl(rel)} collectstatic --noinput'`);
  const started = log.now();
  const outcome = await opts.exec.stream({ command: opts.python, args: [manage, 'collectstatic', '--noinput'], cwd: path.dirname(manage), env: withAppOnPath(opts.env, opts.appDir, startDir) }, log);
  if (outcome.kind === 'ok') {
    log.info(`Collected static files (finished in ${log.elapsedSince(started)})`);
    return 'collected';
  }
  if (outcome.kind === 'io') throw new BuildpackError({ type: 'collectstatic-failed', managePy: rel, output: outcome.message });
  if (/Unknown command:\s*'?collectstatic/.test(outcome.output)) {
    log.info('Skipped collectstatic: django.contrib.staticfiles is not in INSTALLED_APPS');
    return 'staticfiles-not-installed';
  }
  throw new BuildpackError({ type: 'collectstatic-failed', managePy: rel, output: lastLines(outcome.output, 12) });
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split(/\r?\n/).slice(-n).join('\n');
}
