/**
 * The `cnb/` folder of a builder image, laid out for the real lifecycle (platform.md §Buildpacks Directory
 * Layout; platform.md §Buildpacks Directory Layout): the buildpack as packaged at `cnb/buildpacks/<escaped id>/<version>/`, owned by
 * root and readable by all; `cnb/order.toml` with one group holding it; the lifecycle at `cnb/lifecycle/`
 * (`detector` and `builder` are links to the multi-call `lifecycle` binary, whose phase is its argv0, as in
 * a builder image); and `cnb/process/<type>` links to the launcher, as in an exported app image (buildpack.md §Layers Export).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readDescriptor } from '../platform/descriptor.js';
import type { BuildpackDescriptor } from '../platform/descriptor.js';
import { IS_ROOT, chmodTree, chownTree, copyTree, makeDir, writeFileExact } from '../platform/fsutil.js';
import type { LifecycleBinaries } from './binaries.js';

export interface CnbLayout {
  /** `<root>/cnb`. */
  cnbDir: string;
  /** `<root>/cnb/buildpacks` (the `-buildpacks` flag). */
  buildpacksDir: string;
  /** `<root>/cnb/buildpacks/<escaped id>/<version>`: the installed buildpack (CNB_BUILDPACK_DIR). */
  buildpackDir: string;
  /** `<root>/cnb/order.toml` (the `-order` flag). */
  orderPath: string;
  detector: string;
  builder: string;
  launcher: string;
  /** `<root>/cnb/process`: `<type>` links to the launcher. */
  processDir: string;
}

/**
 * Installs the buildpack at `source` (buildpack.toml, bin/, … as packaged) and the lifecycle into
 * `<root>/cnb`. buildpack.toml is read only for the id and version that name the folder: whether the
 * lifecycle accepts it is the detector's verdict, not ours.
 */
export async function installCnb(
  root: string,
  source: string,
  binaries: LifecycleBinaries,
  exclude: string[] = ['.git', 'node_modules'],
): Promise<{ layout: CnbLayout; descriptor: BuildpackDescriptor }> {
  const cnbDir = path.join(root, 'cnb');
  const { descriptor } = await readDescriptor(path.resolve(source), []);
  const buildpacksDir = path.join(cnbDir, 'buildpacks');
  const buildpackDir = path.join(buildpacksDir, descriptor.escapedId || 'unknown', descriptor.version || '0.0.0');
  await makeDir(buildpackDir, 0o755);
  for (const e of await fsp.readdir(source)) if (!exclude.includes(e)) await copyTree(path.join(source, e), path.join(buildpackDir, e));
  // pack's normalisation (distribution.md §Buildpackage): root:root, directories and executables 0755, other files 0644
  if (IS_ROOT) await chownTree(buildpacksDir, { uid: 0, gid: 0 });
  await chmodTree(buildpacksDir, IS_ROOT ? 'a=rX,u+w' : 'a=rX');

  const orderPath = path.join(cnbDir, 'order.toml');
  const order = `[[order]]\n\n  [[order.group]]\n    id = ${JSON.stringify(descriptor.id)}\n    version = ${JSON.stringify(descriptor.version)}\n`;
  await writeFileExact(orderPath, order, 0o644);

  // Copies, not links into the shared folder: every path the build and launch users exec must be theirs to
  // search, as /cnb/lifecycle is in a builder image.
  const lifecycleDir = path.join(cnbDir, 'lifecycle');
  await makeDir(lifecycleDir, 0o755);
  await fsp.copyFile(binaries.lifecycle, path.join(lifecycleDir, 'lifecycle'));
  await fsp.copyFile(binaries.launcher, path.join(lifecycleDir, 'launcher'));
  for (const f of ['lifecycle', 'launcher']) await fsp.chmod(path.join(lifecycleDir, f), 0o755);
  for (const phase of ['detector', 'builder']) await fsp.symlink('lifecycle', path.join(lifecycleDir, phase));
  const processDir = path.join(cnbDir, 'process');
  await makeDir(processDir, 0o755);
  return {
    layout: {
      cnbDir,
      buildpacksDir,
      buildpackDir,
      orderPath,
      detector: path.join(lifecycleDir, 'detector'),
      builder: path.join(lifecycleDir, 'builder'),
      launcher: path.join(lifecycleDir, 'launcher'),
      processDir,
    },
    descriptor,
  };
}

/** `cnb/process/<type>`, a link to the launcher (the launcher takes the process type from its argv0). */
export async function processEntrypoint(layout: CnbLayout, type: string): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(type)) throw new Error(`not a process type: ${JSON.stringify(type)}`);
  const link = path.join(layout.processDir, type);
  await fsp.symlink('../lifecycle/launcher', link).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return link;
}
