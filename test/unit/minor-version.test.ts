import { expect } from 'chai';
import { lineAtLeast, minorVersion } from '../../src/python/minor-version.js';

describe('Python major.minor (PEP 440)', () => {
  it('reads X.Y from releases, pre-releases and local versions, and nothing from what is not PEP 440', () => {
    expect(['3.12.7', '3.13.0rc1', '2.7.18', '3.12.7+local', '3'].map(minorVersion)).to.deep.equal(['3.12', '3.13', '2.7', '3.12', '3.0']);
    expect(minorVersion('three')).to.equal(undefined);
  });
  it('compares lines, counting a pre-release as its line', () => {
    expect(lineAtLeast('3.7.0b1', 3, 7)).to.equal(true);
    expect(lineAtLeast('3.6.15', 3, 7)).to.equal(false);
    expect(lineAtLeast('4.0.0', 3, 7)).to.equal(true);
    expect(lineAtLeast('x', 3, 7)).to.equal(false);
  });
});
