/** Logger.redact (src/logger.ts): values the build placed where no URL rule masks them, hidden in every line. */
import { expect } from 'chai';
import { Logger } from '../../src/logger.js';

function logTo(lines: string[]): Logger {
  return new Logger({ write: (t) => void lines.push(t) }, undefined, false, false);
}

describe('logger: redacted values', () => {
  it('a value is masked in info lines, tool output and errors, as written and percent-encoded as JavaScript and pip (Python quote) write it', () => {
    const lines: string[] = [];
    const log = logTo(lines);
    log.redact(["tok!en(1)/x'y"]);
    log.info("index https://h/tok!en(1)/x'y/simple");
    const out = log.toolOutput();
    out.write('Downloading https://h/tok%21en%281%29/x%27y/f.whl\nfrom https://h/tok!en(1)%2Fx\'y/\n');
    out.flush();
    log.error('failed', "a b tok!en(1)/x'y c");
    const text = lines.join('');
    expect(text).to.not.match(/tok/);
    expect(text).to.contain('index https://h/****/simple');
    expect(text).to.contain('Downloading https://h/****/f.whl');
    expect(text).to.contain('a b **** c');
  });

  it('the longest value first (one inside another is masked whole); values under 4 characters and repeats are ignored', () => {
    const lines: string[] = [];
    const log = logTo(lines);
    log.redact(['abcd', 'abcdefgh', 'ab', 'abcd']);
    log.info('x abcdefgh y abcd z ab');
    expect(lines.join('')).to.equal('- x **** y **** z ab\n');
  });

  it('lines before redact() are as they were: it applies from then on', () => {
    const lines: string[] = [];
    const log = logTo(lines);
    log.info('value secret-value');
    log.redact(['secret-value']);
    log.info('value secret-value');
    expect(lines).to.deep.equal(['- value secret-value\n', '- value ****\n']);
  });
});
