/**
 * src/lock/wheel-tags.ts: which wheel files install on the image's CPython and architecture, as
 * packaging.tags.sys_tags() lists them for CPython on Linux (PEP 425, 513, 600, 656), and that a
 * non-wheel always fits.
 */
import { expect } from 'chai';
import { artifactFits, describeTarget } from '../../src/lock/wheel-tags.js';

const CP312_AMD64 = { python: '3.12.7', arch: 'amd64' };
const CP312_ARM64 = { python: '3.12.7', arch: 'arm64' };

describe('lock: wheel tags against the target', () => {
  const FITS: Array<[string, { python: string; arch: string }]> = [
    ['flask-3.1.3-py3-none-any.whl', CP312_AMD64],
    ['six-1.16.0-py2.py3-none-any.whl', CP312_AMD64],
    ['markupsafe-3.0.3-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl', CP312_AMD64],
    ['markupsafe-3.0.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl', CP312_ARM64],
    ['cryptography-44.0.0-cp39-abi3-manylinux_2_28_x86_64.whl', CP312_AMD64],
    ['orjson-3.10.0-cp312-cp312-musllinux_1_2_x86_64.whl', CP312_AMD64],
    ['x-1.0-cp312-none-any.whl', CP312_AMD64],
    ['x-1.0-py310-none-any.whl', CP312_AMD64],
    ['x-1.0-1build-py3-none-any.whl', CP312_AMD64],
    ['x-1.0-cp37-cp37m-manylinux1_x86_64.whl', { python: '3.7.17', arch: 'amd64' }],
    ['x-1.0-cp27-cp27mu-manylinux1_x86_64.whl', { python: '2.7.18', arch: 'amd64' }],
    ['flask-3.1.3.tar.gz', CP312_ARM64],
    ['project-1.0.zip', CP312_ARM64],
  ];
  for (const [file, target] of FITS) {
    it(`${file} installs on ${describeTarget(target)}`, () => {
      expect(artifactFits(file, target)).to.equal(true);
    });
  }

  const MISFITS: Array<[string, { python: string; arch: string }, string]> = [
    ['markupsafe-3.0.3-cp311-cp311-manylinux_2_17_x86_64.whl', CP312_AMD64, 'another CPython ABI'],
    ['markupsafe-3.0.3-cp312-cp312-manylinux_2_17_x86_64.whl', CP312_ARM64, 'another architecture'],
    ['markupsafe-3.0.3-cp312-cp312-win_amd64.whl', CP312_AMD64, 'Windows'],
    ['markupsafe-3.0.3-cp312-cp312-macosx_11_0_arm64.whl', CP312_ARM64, 'macOS'],
    ['x-1.0-cp313-abi3-manylinux_2_28_x86_64.whl', CP312_AMD64, 'abi3 from a newer CPython'],
    ['x-1.0-py313-none-any.whl', CP312_AMD64, 'a newer Python tag'],
    ['x-1.0-py2-none-any.whl', CP312_AMD64, 'Python 2 only'],
    ['x-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl', CP312_AMD64, 'PyPy'],
    ['x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl', { python: '3.13.1', arch: 'amd64' }, 'free-threaded CPython'],
    ['x-1.0-cp311-none-any.whl', CP312_AMD64, 'another CPython with no ABI'],
    ['broken.whl', CP312_AMD64, 'not a wheel name'],
  ];
  for (const [file, target, why] of MISFITS) {
    it(`${file} does not install on ${describeTarget(target)} (${why})`, () => {
      expect(artifactFits(file, target)).to.equal(false);
    });
  }
});
