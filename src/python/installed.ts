/** The distributions installed under a PYTHONUSERBASE, read from their .dist-info / .egg-info metadata. */
import fs from 'node:fs';
import path from 'node:path';

export interface InstalledDistribution {
  name: string;
  version: string;
}

export function sitePackagesDirs(userBase: string): string[] {
  const lib = path.join(userBase, 'lib');
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(lib);
  } catch {
    return [];
  }
  return entries.filter((e) => /^python\d/.test(e)).map((e) => path.join(lib, e, 'site-packages')).filter((d) => fs.existsSync(d));
}

export function installedDistributions(userBase: string): InstalledDistribution[] {
  const out: InstalledDistribution[] = [];
  for (const site of sitePackagesDirs(userBase)) {
    for (const entry of fs.readdirSync(site).sort()) {
      const metaFile = entry.endsWith('.dist-info') ? 'METADATA' : entry.endsWith('.egg-info') ? 'PKG-INFO' : undefined;
      if (!metaFile) continue;
      let text = '';
      try {
        const p = path.join(site, entry);
        text = fs.readFileSync(fs.statSync(p).isDirectory() ? path.join(p, metaFile) : p, 'utf8');
      } catch {
        continue;
      }
      const name = /^Name:\s*(.+)$/m.exec(text)?.[1]?.trim();
      const version = /^Version:\s*(.+)$/m.exec(text)?.[1]?.trim();
      if (name && version) out.push({ name, version });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
