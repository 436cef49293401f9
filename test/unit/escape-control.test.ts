import { expect } from 'chai';
import fc from 'fast-check';
import { escapeControl } from '../../src/escape-control.js';

describe('escapeControl: user text shown with its control characters visible', () => {
  it('shows ESC, BEL, NUL, DEL and C1 controls as \\xHH, line breaks by name; a tab stays', () => {
    expect(escapeControl('\x1b[2J\x1b]0;pwned\x07')).to.equal('\\x1b[2J\\x1b]0;pwned\\x07');
    expect(escapeControl('a\x00b\x7fc\x9bd\x85e')).to.equal('a\\x00b\\x7fc\\x9bd\\x85e');
    expect(escapeControl('one\ntwo\r\tthree')).to.equal('one\\ntwo\\r\tthree');
    expect(escapeControl('\x01\x1f')).to.equal('\\x01\\x1f');
  });

  it('shows bidi controls and Unicode line separators as \\uHHHH (Trojan Source)', () => {
    expect(escapeControl('admin\u202e\u2066txt.exe\u2069')).to.equal('admin\\u202e\\u2066txt.exe\\u2069');
    expect(escapeControl('a\u2028b\u2029c\u200fd\u061ce')).to.equal('a\\u2028b\\u2029c\\u200fd\\u061ce');
  });

  it('leaves printable text alone: spaces, backslashes, quotes, non-ASCII letters, emoji', () => {
    for (const t of ['python serve.py --port $PORT', 'a\tb', 'printf "a\\nb" | cat', "café naïve 日本語 🐍", ' \u00a0\u00ff', '']) expect(escapeControl(t)).to.equal(t);
  });

  it('any text: the result has no control character left, and only control characters change', () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters that must not survive
    const controls = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (t) => {
      const shown = escapeControl(t);
      expect(controls.test(shown)).to.equal(false);
      // Without control characters in the input, nothing changes; with them, each became an escape.
      if (!controls.test(t)) expect(shown).to.equal(t);
      else expect(shown.length).to.be.above(t.length);
    }), { numRuns: 2000 });
  });

  it('linear time: 1 MB of ESC or of text without controls in well under a second', () => {
    for (const t of ['\x1b'.repeat(1 << 20), 'a'.repeat(1 << 20)]) {
      // the best of three: other work on the machine can slow one run, not a quadratic algorithm
      let best = Infinity;
      for (let run = 0; run < 3 && best >= 1000; run++) {
        const start = performance.now();
        escapeControl(t);
        best = Math.min(best, performance.now() - start);
      }
      expect(best).to.be.below(1000);
    }
  });
});
