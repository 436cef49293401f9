/**
 * User-supplied text (a setting's value, a file name, a line of a file) shown in the log or in a message, with
 * its control characters made visible. Echoed raw, ESC starts terminal escape sequences (ECMA-48) that can
 * recolour, move the cursor, retitle the window or erase the lines above; BEL rings; CR and LF forge log lines
 * of their own; bidi overrides reorder what is shown (CVE-2021-42574, "Trojan Source"). Used by the log lines
 * that echo user text and by the messages (src/messages.ts).
 */

/**
 * C0 controls (U+0000–U+001F but tab, which only moves to the next tab stop), DEL (U+007F), C1 controls
 * (U+0080–U+009F, where U+009B is a one-character CSI), the line and paragraph separators (U+2028, U+2029) and
 * the Unicode bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069; Unicode TR9 §2). A class of
 * single characters, no quantifier: the regex engine cannot backtrack, so replacing runs in linear time.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is what this is for
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/** The escape of each control character met so far: made once each (1 MB of ESC is one lookup per character). */
const ESCAPES = new Map<string, string>();

function escapeOf(c: string): string {
  let e = ESCAPES.get(c);
  if (e === undefined) {
    const code = c.charCodeAt(0);
    e = NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
    ESCAPES.set(c, e);
  }
  return e;
}

/**
 * The text with each control character shown as an escape: `\n`, `\r`, else `\xHH` (U+00FF and below,
 * `\x1b` for ESC) or `\uHHHH`. Everything else, backslashes included, is left as written: the result is for
 * reading, not for parsing back (a shell command in APP_RUN reads as the user wrote it).
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escapeOf);
}
