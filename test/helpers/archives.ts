/** Hand-made archives for tests of the extraction's safety and limits. */
import { execFileSync } from 'node:child_process';

export type TarEntry = { path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link'; body?: string; linkpath?: string };

/**
 * Writes `file` as a .tar.gz of raw entries with Python's tarfile, which (unlike node-tar's packer) keeps
 * hostile names such as absolute paths, `..` and escaping links exactly as given.
 */
export function writeTarGz(file: string, entries: TarEntry[]): string {
  const script = [
    'import io, json, sys, tarfile',
    'kinds = {"File": tarfile.REGTYPE, "Directory": tarfile.DIRTYPE, "SymbolicLink": tarfile.SYMTYPE, "Link": tarfile.LNKTYPE}',
    'with tarfile.open(sys.argv[1], "w:gz") as t:',
    '    for e in json.loads(sys.stdin.read()):',
    '        i = tarfile.TarInfo(e["path"]); i.type = kinds[e.get("type", "File")]; body = e.get("body", "").encode()',
    '        i.linkname = e.get("linkpath", ""); i.size = len(body) if i.type == tarfile.REGTYPE else 0; i.mode = 0o755',
    '        t.addfile(i, io.BytesIO(body) if i.size else None)',
  ].join('\n');
  execFileSync('python3', ['-c', script, file], { input: JSON.stringify(entries), env: { PATH: process.env.PATH ?? '' } });
  return file;
}

/** A ustar header block (`type` '0' file, '5' directory), for archives whose bodies are streamed, like gzip bombs. */
export function ustarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000755\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('14000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}
