/**
 * A BuildContext (src/cnb/context.ts) on temporary directories, as the lifecycle would hand it to bin/build:
 * an app dir, a layers dir (the real src/cnb/layers.ts on it), a platform dir and a buildpack dir. One
 * TempBuild serves several builds of a test (a build, then a rebuild over the restored layers), each with its
 * own target, buildpack version and process env.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BuildContext } from '../../src/cnb/context.js';
import { Layers } from '../../src/cnb/layers.js';
import { UserEnv } from '../../src/cnb/user-env.js';

export interface ContextOptions {
  arch?: string;
  buildpackVersion?: string;
  /** Default: this TempBuild's own (empty) buildpack dir. */
  buildpackDir?: string;
  /** The env the lifecycle gives bin/build. */
  processEnv?: Record<string, string>;
}

export class TempBuild {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-'));
  readonly appDir = path.join(this.root, 'workspace');
  readonly layersDir = path.join(this.root, 'layers', 'ausnimbus_python');
  readonly platformDir = path.join(this.root, 'platform');
  readonly buildpackDir = path.join(this.root, 'buildpack');

  constructor() {
    for (const d of [this.appDir, this.layersDir, this.platformDir, this.buildpackDir]) fs.mkdirSync(d, { recursive: true });
  }

  context(opts: ContextOptions = {}): BuildContext {
    const env = opts.processEnv ?? {};
    return {
      appDir: this.appDir,
      buildpackDir: opts.buildpackDir ?? this.buildpackDir,
      platformDir: this.platformDir,
      target: { os: 'linux', arch: opts.arch ?? 'amd64' },
      buildpack: { api: '0.10', id: 'ausnimbus/python', version: opts.buildpackVersion ?? '0.1.0', metadata: {} },
      userEnv: UserEnv.read(this.platformDir, env),
      env,
      layers: new Layers(this.layersDir),
    };
  }

  /** Writes files into the app, relative paths to contents. */
  writeApp(files: Record<string, string>): void {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(this.appDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(this.appDir, rel), text);
    }
  }

  /** `$CNB_PLATFORM_DIR/env/<NAME>` files, contents verbatim. */
  writePlatformEnv(vars: Record<string, string>): void {
    fs.mkdirSync(path.join(this.platformDir, 'env'), { recursive: true });
    for (const [k, v] of Object.entries(vars)) fs.writeFileSync(path.join(this.platformDir, 'env', k), v);
  }

  layerPath(name: string): string {
    return path.join(this.layersDir, name);
  }

  tomlPath(name: string): string {
    return path.join(this.layersDir, `${name}.toml`);
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
