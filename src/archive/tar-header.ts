/**
 * Decoding tar headers (POSIX ustar, GNU and pax, as Python's tarfile and GNU tar write them): entry types,
 * NUL-terminated strings, octal and GNU base-256 numbers, the header checksum, and pax records.
 */

export const BLOCK = 512;

export type EntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'Device' | 'FIFO';

export function entryType(flag: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'File';
    case '1':
      return 'Link';
    case '2':
      return 'SymbolicLink';
    case '5':
      return 'Directory';
    case '3':
    case '4':
      return 'Device';
    case '6':
      return 'FIFO';
    default:
      return undefined;
  }
}

export function cstring(h: Buffer, start: number, len: number): string {
  const end = h.indexOf(0, start);
  return h.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
export function numeric(h: Buffer, start: number, len: number): number {
  if (((h[start] ?? 0) & 0x80) !== 0) {
    let v = (h[start] ?? 0) & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (h[i] ?? 0);
    return v;
  }
  const text = h.toString('latin1', start, start + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`a tar header has a malformed number '${text}'`);
  return parseInt(text, 8);
}

export function checksumValid(h: Buffer): boolean {
  const stored = numeric(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax records: `<length> <key>=<value>\n`, the length in bytes and counting itself. */
export function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(body.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) throw new Error('a pax header is malformed');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}
