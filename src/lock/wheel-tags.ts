/**
 * Whether a locked file installs on the image's CPython and architecture, from its name alone: wheel
 * file names carry compressed tag sets (PEP 425, PEP 427: `{python tag}-{abi tag}-{platform tag}`, each a
 * `.`-separated set). The tags accepted are those packaging.tags.sys_tags() yields for CPython on Linux,
 * the list pip installs by: `cpXY-cpXY` (and `cpXYm` before 3.8, `cp27mu`), `cp3Y-abi3` for Y up to ours,
 * `cpXY-none`, `pyX`/`pyXY-none` for Y up to ours; platforms `any`, `linux_<machine>`, `manylinux*_<machine>`
 * (PEP 513, 571, 599, 600) and `musllinux_*_<machine>` (PEP 656). The glibc or musl version the image
 * carries is not known at this point: any is accepted, and pip, which sees the real one, has the last word.
 * An sdist or any other archive builds anywhere.
 */

/** Architectures a wheel names (`uname -m`) for each CNB_TARGET_ARCH (Go's GOARCH names). */
const MACHINES: Record<string, string[]> = { amd64: ['x86_64'], arm64: ['aarch64'], arm: ['armv7l'], '386': ['i686'], ppc64le: ['ppc64le'], s390x: ['s390x'] };

export interface WheelTarget {
  /** CPython's full version, `3.12.7`. */
  python: string;
  /** CNB_TARGET_ARCH. */
  arch: string;
}

export function isWheel(filename: string): boolean {
  return /\.whl$/i.test(filename);
}

function platformFits(plat: string, machines: string[]): boolean {
  if (plat === 'any') return true;
  return machines.some((m) => plat === `linux_${m}` || new RegExp(`^(manylinux(1|2010|2014|_\\d+_\\d+)|musllinux_\\d+_\\d+)_${m}$`).test(plat));
}

function pythonAbiFits(py: string, abi: string, major: number, minor: number): boolean {
  const ours = `cp${major}${minor}`;
  const cp = /^cp(\d)(\d+)$/.exec(py);
  const pyTag = /^py(\d)(\d*)$/.exec(py);
  if (abi === 'abi3') return cp !== null && Number(cp[1]) === 3 && major === 3 && Number(cp[2]) <= minor;
  if (abi === 'none') {
    if (py === ours) return true;
    if (pyTag === null || Number(pyTag[1]) !== major) return false;
    return pyTag[2] === '' || Number(pyTag[2]) <= minor;
  }
  if (py !== ours) return false;
  // The CPython ABI tag: cp38 on; cp37m before (pymalloc); cp27mu on the UCS-4 builds Linux uses.
  const abis = major === 3 && minor >= 8 ? [ours] : major === 2 ? [`${ours}mu`, `${ours}m`] : [`${ours}m`];
  return abis.includes(abi);
}

/**
 * True when the file installs on CPython `target.python` for `target.arch` (always, for a non-wheel). A file
 * the lock names only by its hash (Pipfile.lock) may fit: pip, which sees the index's file names, decides.
 */
export function artifactFits(filename: string | undefined, target: WheelTarget): boolean {
  if (filename === undefined || !isWheel(filename)) return true;
  const parts = filename.slice(0, -4).split('-');
  if (parts.length < 5) return false;
  const [pys, abis, plats] = parts.slice(-3).map((p) => p.toLowerCase().split('.')) as [string[], string[], string[]];
  const [major, minor] = target.python.split('.').map(Number) as [number, number];
  const machines = MACHINES[target.arch] ?? [target.arch];
  return plats.some((p) => platformFits(p, machines)) && pys.some((py) => abis.some((abi) => pythonAbiFits(py, abi, major, minor)));
}

/** `CPython 3.12 on linux/arm64`, for messages. */
export function describeTarget(target: WheelTarget): string {
  return `CPython ${target.python.split('.').slice(0, 2).join('.')} on linux/${target.arch}`;
}
