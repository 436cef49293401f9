import { expect } from 'chai';
import { rewritePrefix } from '../../src/python/relocate.js';

describe('sysconfig relocation', () => {
  it('rewrites the /install prefix as a path and nothing else', () => {
    const makefile = "prefix=\t\t/install\nLIBDIR=/install/lib\nINSTALL=\t/usr/bin/install -c\nLDFLAGS= -L/install/lib -I/install/include\nX='/install/lib/python3.7'\n";
    expect(rewritePrefix(makefile, '/layers/ausnimbus_python/python')).to.equal(
      "prefix=\t\t/layers/ausnimbus_python/python\nLIBDIR=/layers/ausnimbus_python/python/lib\nINSTALL=\t/usr/bin/install -c\nLDFLAGS= -L/layers/ausnimbus_python/python/lib -I/layers/ausnimbus_python/python/include\nX='/layers/ausnimbus_python/python/lib/python3.7'\n",
    );
    expect(rewritePrefix("'CONFIG_ARGS': \"'--prefix=/install' '--with-x'\"", '/p')).to.equal("'CONFIG_ARGS': \"'--prefix=/p' '--with-x'\"");
    expect(rewritePrefix('/installer/x /opt/install', '/p')).to.equal('/installer/x /opt/install');
  });
});
