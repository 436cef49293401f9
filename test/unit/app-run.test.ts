// APP_RUN's shell line: `exec` before a lone simple command (so the app, not /bin/sh, is PID 1 and gets
// SIGTERM), and the user's line unchanged otherwise. The rewritten lines are also run through the real /bin/sh.
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { appRunShellLine } from '../../src/start/web-process.js';

describe('APP_RUN shell line', () => {
  it('puts exec before one simple command, after leading assignments, keeping redirections', () => {
    const cases: Array<[string, string]> = [
      ['python app.py', 'exec python app.py'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, meant literally (the shell expands it)
      ['python server.py "${PORT:-8080}" "Hello from APP_RUN"', 'exec python server.py "${PORT:-8080}" "Hello from APP_RUN"'],
      ['gunicorn --bind 0.0.0.0:$PORT app:application', 'exec gunicorn --bind 0.0.0.0:$PORT app:application'],
      ['  python  app.py', '  exec python  app.py'],
      ['FOO=1 BAR="a b" python app.py', 'FOO=1 BAR="a b" exec python app.py'],
      ['python app.py 2>&1', 'exec python app.py 2>&1'],
      ['python app.py > /tmp/log 2> /tmp/err', 'exec python app.py > /tmp/log 2> /tmp/err'],
      ["python -c 'import a; a.run()'", "exec python -c 'import a; a.run()'"],
      ['python -c "print(1); print(2)"', 'exec python -c "print(1); print(2)"'],
      ['python app.py \\; x', 'exec python app.py \\; x'],
      ['$SERVER --port $PORT', 'exec $SERVER --port $PORT'],
    ];
    for (const [line, expected] of cases) expect(appRunShellLine(line), line).to.equal(expected);
  });

  it('leaves lists, pipelines, subshells, substitutions, builtins and odd lines as the user wrote them', () => {
    for (const line of [
      'cd src && python app.py',
      'python migrate.py; python app.py',
      'python app.py || true',
      'python app.py | tee log',
      'python app.py &',
      '(cd src; python app.py)',
      'python app.py --workers $(nproc)',
      'python app.py --workers `nproc`',
      'export A=1\npython app.py',
      'exec python app.py',
      '. ./env.sh',
      'if true; then python app.py; fi',
      'FOO=1',
      '>log python app.py',
      "python 'unterminated",
      '# just a comment',
      '',
    ]) {
      expect(appRunShellLine(line), line).to.equal(line);
    }
  });

  it('the rewritten line runs in /bin/sh with the same result, and the command replaces the shell', () => {
    const run = (line: string): string => execFileSync('/bin/sh', ['-c', appRunShellLine(line)], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PORT: '9090' } });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, meant literally (the shell expands it)
    expect(run('echo "${PORT:-8080}" x')).to.equal('9090 x\n');
    expect(run('GREETING="a b" /bin/sh -c \'echo "$GREETING"\'')).to.equal('a b\n');
    expect(run('ls /nonexistent-dir 2>&1 || true')).to.match(/nonexistent/);
    // exec: the child's parent is whoever started /bin/sh (here: node), so `sh` left no process of its own.
    const ppid = run('/bin/sh -c \'echo $PPID\'').trim();
    expect(Number(ppid)).to.equal(process.pid);
  });
});
