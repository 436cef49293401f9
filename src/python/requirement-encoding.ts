/**
 * Decoding a requirements file the way pip does (pip/_internal/req/req_file.py, `_decode_req_file`; older
 * pips `auto_decode`): a byte order mark picks UTF-8, UTF-16 or UTF-32; else a PEP 263 comment on one of the
 * first two lines (`# -*- coding: latin-1 -*-`) names the encoding; else the file is UTF-8. pip decodes the
 * whole file at once and a bad byte ends it with a bare `ERROR: Exception:` and a UnicodeDecodeError trace, so
 * the buildpack decodes it first and names the file, the line and the byte instead.
 */
import { firstInvalidUtf8 } from '../cnb/env-value.js';

/** How the encoding was chosen: undefined means pip's default, UTF-8. */
export interface DeclaredEncoding {
  name: string;
  by: 'bom' | 'coding-line';
}

export type DecodedText =
  | { ok: true; text: string; declared: DeclaredEncoding | undefined }
  /** `offset` of the first byte that cannot be decoded; `line` counts from 1. */
  | { ok: false; offset: number; line: number; byte: number; declared: DeclaredEncoding | undefined };

/** pip's order: codecs.BOM_UTF16 is the host's (little-endian) order, and it is tried before UTF-32. */
const BOMS: Array<[number[], string]> = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0xff, 0xfe], 'utf-16'],
  [[0xfe, 0xff], 'utf-16-be'],
  [[0xff, 0xfe], 'utf-16-le'],
  [[0xff, 0xfe, 0x00, 0x00], 'utf-32'],
  [[0x00, 0x00, 0xfe, 0xff], 'utf-32-be'],
  [[0xff, 0xfe, 0x00, 0x00], 'utf-32-le'],
];

/** pip's PEP 263 pattern, on a line that starts with '#' (a bytes regex: \w is ASCII). */
const CODING_RE = /coding[:=][ \t\f\v\r]*([-A-Za-z0-9_.]+)/;

export function decodeRequirementBytes(data: Buffer): DecodedText {
  for (const [bom, name] of BOMS) {
    if (data.length >= bom.length && bom.every((b, i) => data[i] === b)) {
      return decodeAs(data, bom.length, name, { name, by: 'bom' });
    }
  }
  let start = 0;
  for (let i = 0; i < 2 && start <= data.length; i++) {
    const nl = data.indexOf(0x0a, start);
    const line = data.subarray(start, nl < 0 ? data.length : nl);
    if (line[0] === 0x23 /* # */) {
      const m = CODING_RE.exec(line.toString('latin1'));
      if (m?.[1]) return decodeAs(data, 0, m[1], { name: m[1], by: 'coding-line' });
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return decodeAs(data, 0, 'utf-8', undefined);
}

function decodeAs(data: Buffer, skip: number, name: string, declared: DeclaredEncoding | undefined): DecodedText {
  const body = data.subarray(skip);
  const bad = (rel: number): DecodedText => {
    const offset = skip + rel;
    return { ok: false, offset, line: lineOf(data, offset), byte: data[offset] ?? 0, declared };
  };
  const codec = pythonCodec(name);
  switch (codec) {
    case 'utf-8': {
      const at = firstInvalidUtf8(body);
      return at < 0 ? { ok: true, text: body.toString('utf8'), declared } : bad(at);
    }
    case 'ascii': {
      const at = body.findIndex((b) => b >= 0x80);
      return at < 0 ? { ok: true, text: body.toString('latin1'), declared } : bad(at);
    }
    case 'latin-1':
      return { ok: true, text: body.toString('latin1'), declared };
    case 'utf-32-le':
    case 'utf-32-be':
      return decodeUtf32(body, codec === 'utf-32-be', declared, bad);
    default: {
      let decoder: TextDecoder;
      try {
        decoder = new TextDecoder(codec, { fatal: true });
      } catch {
        // An encoding pip knows and this runtime does not: pip decides. Read it byte for byte, enough to find
        // the ASCII options and paths that matter here.
        return { ok: true, text: body.toString('latin1'), declared };
      }
      try {
        return { ok: true, text: decoder.decode(body), declared };
      } catch {
        return bad(firstUndecodable(codec, body));
      }
    }
  }
}

/**
 * The codec for a Python encoding name (Python lowercases it and treats '-' and ' ' as '_'), as a WHATWG
 * label where one exists (TextDecoder), or one of the names decoded here.
 */
function pythonCodec(name: string): string {
  const n = name.toLowerCase().replace(/[- ]/g, '_');
  if (['utf_8', 'utf8', 'u8', 'utf', 'utf_8_sig', 'cp65001'].includes(n)) return 'utf-8';
  if (['ascii', 'us_ascii', '646'].includes(n)) return 'ascii';
  if (['latin_1', 'latin1', 'latin', 'l1', 'iso8859_1', 'iso_8859_1', '8859', 'cp819', 'iso_ir_100'].includes(n)) return 'latin-1';
  if (['utf_16', 'utf16', 'utf_16_le', 'utf_16le'].includes(n)) return 'utf-16le'; // BOM already stripped
  if (['utf_16_be', 'utf_16be'].includes(n)) return 'utf-16be';
  if (['utf_32', 'utf32', 'utf_32_le', 'utf_32le'].includes(n)) return 'utf-32-le';
  if (['utf_32_be', 'utf_32be'].includes(n)) return 'utf-32-be';
  if (['cp1252', 'windows_1252'].includes(n)) return 'cp1252';
  return n.replace(/_/g, '-');
}

/** Python's cp1252 leaves five bytes undefined (WHATWG's windows-1252 maps them to C1 controls). */
const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

function firstUndecodable(codec: string, body: Buffer): number {
  if (codec === 'cp1252') return body.findIndex((b) => CP1252_UNDEFINED.has(b));
  // Feed one byte at a time: the decoder throws at the byte that cannot start or continue a character.
  const decoder = new TextDecoder(codec, { fatal: true });
  for (let i = 0; i < body.length; i++) {
    try {
      decoder.decode(body.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return Math.max(0, body.length - 1); // an incomplete character at the end
}

function decodeUtf32(body: Buffer, bigEndian: boolean, declared: DeclaredEncoding | undefined, bad: (at: number) => DecodedText): DecodedText {
  let text = '';
  for (let i = 0; i < body.length; i += 4) {
    if (i + 4 > body.length) return bad(i);
    const cp = bigEndian ? body.readUInt32BE(i) : body.readUInt32LE(i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return bad(i);
    text += String.fromCodePoint(cp);
  }
  return { ok: true, text, declared };
}

/** 1-based line of a byte offset: lines end at '\n', as an editor counts them. */
function lineOf(data: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (data[i] === 0x0a) line++;
  return line;
}
