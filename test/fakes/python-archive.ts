/**
 * A stand-in for a python-build-standalone archive: one top folder with bin/python3.12 (a shell script),
 * include/ and lib/python3.12/ (or another `minor`: its bin/pythonX.Y must match the version installed, which
 * installPython checks), registered in a buildpack dir as an offline package
 * (dependencies/<sha256>/python.tar.gz), so installPython unpacks it with no download and no real Python.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { offlineArchivePath } from '../../src/python/archives.js';

/** Returns the archive's sha256; `marker` makes archives differ (another build of the same version). */
export async function offlinePythonArchive(buildpackDir: string, scratchDir: string, marker: string, minor = '3.12'): Promise<string> {
  const src = fs.mkdtempSync(path.join(scratchDir, 'archive-'));
  const files: Record<string, string> = {
    [`bin/python${minor}`]: `#!/bin/sh\necho ${marker}\n`,
    [`lib/python${minor}/os.py`]: `# ${marker}\n`,
    [`include/python${minor}/Python.h`]: '',
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, 'python', rel)), { recursive: true });
    fs.writeFileSync(path.join(src, 'python', rel), text, { mode: rel.startsWith('bin/') ? 0o755 : 0o644 });
  }
  const file = path.join(src, 'python.tar.gz');
  await tar.create({ gzip: true, file, cwd: src, portable: true }, ['python']);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fs.mkdirSync(path.dirname(offlineArchivePath(buildpackDir, sha)), { recursive: true });
  fs.renameSync(file, offlineArchivePath(buildpackDir, sha));
  fs.rmSync(src, { recursive: true, force: true });
  return sha;
}
