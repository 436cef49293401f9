/**
 * The file and path calls on detect's path (exists, read, write, list; a name in a folder, a base name), made
 * with Bun's own API in the compiled executable and with node:fs elsewhere (unit tests run under Node). Loading
 * node:fs costs a bun executable about 2 ms and 4 MiB at start, node:path about 1 ms (bench/detect.ts, bun's
 * --cpu-prof), and detect runs for every build of every app on a builder, so nothing detect loads may import
 * either; the build loads them freely.
 */

/** The part of Bun's global API used here (https://bun.sh/docs/api/file-io, https://bun.sh/docs/api/glob). */
interface BunApi {
  file(path: string): { text(): Promise<string>; stat(): Promise<unknown> };
  write(path: string, data: string): Promise<number>;
  Glob: new (pattern: string) => { scan(opts: { cwd: string; dot: boolean; onlyFiles: boolean }): AsyncIterable<string> };
}

const bun = (globalThis as { Bun?: BunApi }).Bun;
const nodeFs = (): Promise<typeof import('node:fs/promises')> => import('node:fs/promises');

/** Whether a file or folder is at `path`, links followed (a dangling link is nothing), as fs.existsSync answers. */
export async function exists(path: string): Promise<boolean> {
  const stat = bun ? bun.file(path).stat() : nodeFs().then((fs) => fs.stat(path));
  return stat.then(
    () => true,
    () => false,
  );
}

export async function readText(path: string): Promise<string> {
  return bun ? bun.file(path).text() : (await nodeFs()).readFile(path, 'utf8');
}

/** Creates or replaces the file at `path` with `text` (bun also creates missing parent folders; Node does not). */
export async function writeText(path: string, text: string): Promise<void> {
  if (bun) await bun.write(path, text);
  else await (await nodeFs()).writeFile(path, text);
}

/**
 * The names in the folder `dir` (dot files included), in no set order; rejects when `dir` cannot be listed.
 * bun's scan leaves out FIFOs and sockets, which no caller here looks for.
 */
export async function listNames(dir: string): Promise<string[]> {
  if (!bun) return (await nodeFs()).readdir(dir);
  const names: string[] = [];
  for await (const name of new bun.Glob('*').scan({ cwd: dir, dot: true, onlyFiles: false })) names.push(name);
  return names;
}

/** `name` in the folder `dir` (POSIX paths, as the CNB lifecycle gives them). */
export function inDir(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The last part of a POSIX path, as path.basename gives it (trailing slashes dropped). */
export function baseName(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
