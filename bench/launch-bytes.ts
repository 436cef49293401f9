// The bytes of the image's launch layers for the Flask example (examples/flask-hello) and the Django example
// (test/fixtures/django-whitenoise), built through the local platform with Python 3.11 and the local wheelhouse.
// Run: BASELINE=<checkout> npx tsx bench/launch-bytes.ts   (bench/baseline.ts says how to make the checkout;
// without BASELINE only this buildpack's figures are printed). Needs `npm run build`.
//
// Per launch layer: the size of the layer as an uncompressed tar (what the exporter writes: 512-byte headers,
// contents padded to 512 bytes, so many small files cost more than their bytes), the same gzipped (-6, about
// what a registry stores and a pull downloads) and its file count. The figures do not move with machine load.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E, REPO, fixture } from '../test/e2e/support.js';
import type { BuildResult, LocalPlatform } from '../test/platform/index.js';
import { whitenoiseWheel } from '../test/helpers/debian-wheels.js';
import { baselinePlatform } from './baseline.js';

interface LayerBytes {
  tar: number;
  gzip: number;
  files: number;
}

function layerBytes(dir: string): LayerBytes {
  const bytes = (pipe: string): number => {
    const r = spawnSync('sh', ['-c', `tar --sort=name -cf - -C "$1" . ${pipe} | wc -c`, 'sh', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar of ${dir} failed: ${r.stderr}`);
    return Number(r.stdout.trim());
  };
  const files = spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
  return { tar: bytes(''), gzip: bytes('| gzip -6'), files };
}

function launchLayers(res: BuildResult): Record<string, LayerBytes> {
  const image = res.image;
  if (!image) throw new Error('no image');
  return Object.fromEntries(Object.keys(image.layers).sort().map((name) => [name, layerBytes(path.join(image.dir, 'layers', name))]));
}

const total = (layers: Record<string, LayerBytes>): LayerBytes =>
  Object.values(layers).reduce((a, b) => ({ tar: a.tar + b.tar, gzip: a.gzip + b.gzip, files: a.files + b.files }), { tar: 0, gzip: 0, files: 0 });
const mb = (n: number): string => (n / 1e6).toFixed(2);

const APPS: Array<{ name: string; source: string; env: Record<string, string> }> = [
  { name: 'Flask example (examples/flask-hello)', source: path.join(REPO, 'examples', 'flask-hello'), env: {} },
  { name: 'Django example (test/fixtures/django-whitenoise)', source: fixture('django-whitenoise'), env: { GUNICORN_APP_MODULE: 'mysite.wsgi' } },
];

const e2e = await E2E.start();
const baseline = await baselinePlatform();
// The wheelhouse has no whitenoise: the Django tests build one from Debian's python3-whitenoise, as here.
const overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-whitenoise-'));
try {
  await whitenoiseWheel(overlay);
  e2e.index.addOverlayDir(overlay);
  const build = async (platform: LocalPlatform, source: string, extra: Record<string, string>): Promise<Record<string, LayerBytes>> =>
    launchLayers(await platform.buildOk(await platform.app(source), { platformEnv: await e2e.env(undefined, extra) }));
  if (baseline) console.log(`baseline (before): ${baseline.describe}`);
  console.log(`${'app / layer'.padEnd(52)} ${'tar MB'.padStart(9)} ${'gzip MB'.padStart(9)} ${'files'.padStart(7)}${baseline ? `  ${'before tar'.padStart(11)} ${'before gz'.padStart(10)} ${'tar ratio'.padStart(10)} ${'gz ratio'.padStart(9)}` : ''}`);
  for (const app of APPS) {
    const after = await build(e2e.platform, app.source, app.env);
    const before = baseline ? await build(baseline.platform, app.source, app.env) : undefined;
    const names = [...new Set([...Object.keys(after), ...Object.keys(before ?? {})])].sort();
    const row = (label: string, a: LayerBytes | undefined, b: LayerBytes | undefined): void => {
      const cur = `${(a ? mb(a.tar) : '-').padStart(9)} ${(a ? mb(a.gzip) : '-').padStart(9)} ${String(a?.files ?? '-').padStart(7)}`;
      const old = baseline
        ? `  ${(b ? mb(b.tar) : '-').padStart(11)} ${(b ? mb(b.gzip) : '-').padStart(10)} ${(a && b ? (a.tar / b.tar).toFixed(3) : '-').padStart(10)} ${(a && b ? (a.gzip / b.gzip).toFixed(3) : '-').padStart(9)}`
        : '';
      console.log(`${label.padEnd(52)} ${cur}${old}`);
    };
    console.log(app.name);
    for (const n of names) row(`  ${n}`, after[n], before?.[n]);
    row('  all launch layers', total(after), before ? total(before) : undefined);
    if (before) {
      const r = total(after).tar / total(before).tar;
      console.log(`  launch layers: ${r.toFixed(3)}x of the baseline's bytes (uncompressed tar), ${(total(after).gzip / total(before).gzip).toFixed(3)}x gzipped (goal for the Flask example <= 0.70x)`);
    }
  }
} finally {
  fs.rmSync(overlay, { recursive: true, force: true });
  await baseline?.cleanup();
  await e2e.stop();
}
