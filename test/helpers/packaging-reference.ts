/**
 * The `packaging` library (the PEP 508 reference that pip and the lock tools share) as an oracle for tests:
 * installed from the local wheelhouse into a venv under the OS temp dir once per test process, then asked many
 * questions in ONE Python process per call. A missing interpreter or wheel fails the caller, saying what is
 * missing; nothing skips.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pyenvPython } from './pyenv.js';

/** packaging 22 is the first release whose markers follow the PEP 508 grammar strictly (no legacy parser). */
const MINIMUM_MAJOR = 22;
/** The machine's PEP 503 wheelhouse (test/e2e/support.ts WHEELHOUSE). */
const WHEELHOUSE = '/opt/pypi';

let venvPython: string | undefined;

/** A venv's python with packaging from the local wheelhouse; made once per process. */
function referencePython(): string {
  if (venvPython !== undefined) return venvPython;
  const base = pyenvPython('3.11');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packaging-reference-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // No user or machine pip config, and no PIP_* of the caller's shell: only the wheelhouse is asked.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
  };
  // A venv without its own pip (ensurepip is most of a venv's cost), filled by the base interpreter's pip.
  run(base.python, ['-m', 'venv', '--without-pip', dir]);
  const python = path.join(dir, 'bin', 'python');
  const simple = path.join(WHEELHOUSE, 'simple');
  run(base.python, ['-m', 'pip', '--python', python, 'install', '--quiet', '--index-url', `file://${simple}`, 'packaging']);
  const version = spawnSync(python, ['-c', 'import packaging; print(packaging.__version__)'], { encoding: 'utf8' }).stdout.trim();
  if (Number.parseInt(version, 10) < MINIMUM_MAJOR) throw new Error(`packaging ${version} from ${simple} is older than ${MINIMUM_MAJOR}: the reference needs packaging >= ${MINIMUM_MAJOR}`);
  venvPython = python;
  return python;
}

/** One environment to evaluate in: PEP 508's values, `extra` (one name or ''), and PEP 751's sets. */
export interface ReferenceEnvironment {
  values: Record<string, string>;
  extra: string;
  extras: string[];
  dependencyGroups: string[];
}

/** `syntax`: Marker() refused the text; `error`: evaluate() raised (UndefinedComparison, UndefinedEnvironmentName). */
export type ReferenceOutcome = boolean | 'syntax' | 'error';

const SCRIPT = `
import json, sys
import packaging
from packaging.markers import Marker, InvalidMarker
request = json.load(sys.stdin)
envs = []
for e in request["envs"]:
    env = dict(e["values"])
    env["extra"] = e["extra"]
    env["extras"] = frozenset(e["extras"])
    env["dependency_groups"] = frozenset(e["dependencyGroups"])
    envs.append(env)
results = []
for text in request["markers"]:
    try:
        marker = Marker(text)
    except InvalidMarker:
        results.append("syntax")
        continue
    row = []
    for env in envs:
        try:
            row.append(marker.evaluate(env))
        except (ValueError, KeyError, TypeError):
            row.append("error")
    results.append(row)
json.dump({"version": packaging.__version__, "results": results}, sys.stdout)
`;

/** packaging's verdict on every marker in every environment: `syntax`, or one outcome per environment. */
export function packagingEvaluate(markers: string[], envs: ReferenceEnvironment[]): { version: string; results: Array<'syntax' | ReferenceOutcome[]> } {
  const python = referencePython();
  const r = spawnSync(python, ['-c', SCRIPT], { input: JSON.stringify({ markers, envs }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`the packaging reference failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** One question for packaging.pylock: a lock (as TOML text), a target environment and the requested optional parts. */
export interface PylockQuestion {
  toml: string;
  environment: Record<string, string>;
  extras: string[];
  /** undefined: packaging's default (the lock's default-groups); else the groups (default-groups added by the caller). */
  dependencyGroups: string[] | undefined;
}

/** packaging.pylock's answer: the selected packages (name, version, source kind), or the error class it raised. */
export type PylockAnswer = { selected: Array<{ name: string; version: string | null; source: string }> } | { error: string; message: string };

const PYLOCK_SCRIPT = `
import json, sys, tomllib
from packaging.pylock import Pylock, PackageVcs, PackageDirectory, PackageArchive, PackageWheel, PackageSdist
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename
answers = []
for q in json.load(sys.stdin):
    try:
        lock = Pylock.from_dict(tomllib.loads(q["toml"]))
        # Every wheel's own tags are "compatible": the question is which packages, not which file.
        tags = [t for p in lock.packages for w in (p.wheels or []) for t in parse_wheel_filename(w.filename)[-1]]
        chosen = lock.select(environment=q["environment"], tags=tags or [Tag("py3", "none", "any")], extras=q["extras"], dependency_groups=q["dependencyGroups"])
        kinds = {PackageVcs: "vcs", PackageDirectory: "directory", PackageArchive: "archive", PackageWheel: "wheel", PackageSdist: "sdist"}
        answers.append({"selected": [{"name": p.name, "version": str(p.version) if p.version else None, "source": kinds[type(s)]} for p, s in chosen]})
    except Exception as e:
        answers.append({"error": type(e).__name__, "message": str(e)})
json.dump(answers, sys.stdout)
`;

/** packaging.pylock's Pylock.from_dict(...).select(...) for each question, in one Python process. */
export function packagingPylockSelect(questions: PylockQuestion[]): PylockAnswer[] {
  const python = referencePython();
  const r = spawnSync(python, ['-c', PYLOCK_SCRIPT], { input: JSON.stringify(questions), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`the packaging pylock reference failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}
