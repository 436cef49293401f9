// Tests for layers/exec.d/web-concurrency, the exec.d program that sets WEB_CONCURRENCY from the
// container memory limit. It runs under every POSIX shell found here against fake cgroup trees,
// a fake /proc/self/cgroup and a fake /proc/meminfo, with fd 3 captured as the launcher does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import TOML from '@iarna/toml';
import { expect } from 'chai';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'layers', 'exec.d', 'web-concurrency');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const V1_UNLIMITED = '9223372036854771712';
const LINE = /^WEB_CONCURRENCY = "(\d+)"$/;

/**
 * Shells that run the script: /bin/sh, and dash, busybox sh and bash, the /bin/sh of Debian/Ubuntu, Alpine
 * and RHEL-like run images. Each one is required: a missing one fails its tests (no shorter list).
 */
const findBin = (name: string): string | undefined =>
  ['/bin', '/usr/bin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
const SHELLS: { name: string; argv: string[]; missing?: string }[] = [
  { name: '/bin/sh', argv: ['/bin/sh'] },
  ...[
    { bin: 'dash', name: 'dash', flags: [] },
    { bin: 'busybox', name: 'busybox sh', flags: ['sh'] },
    { bin: 'bash', name: 'bash --posix', flags: ['--posix'] },
  ].map(({ bin, name, flags }) => {
    const path = findBin(bin);
    return path === undefined
      ? { name, argv: [], missing: `${bin} is not installed in /bin or /usr/bin: install it (apt-get install ${bin}); these tests run the script under it` }
      : { name, argv: [path, ...flags] };
  }),
];

/** The one stderr line for a WEB_CONCURRENCY that is replaced, showing it as `shown`. */
const replacedLine = (shown: string): string => `WEB_CONCURRENCY='${shown}' is not a whole number from 1 to 1000; using 2\n`;

/** A fake machine: files relative to the cgroup root, /proc/self/cgroup and /proc/meminfo. */
interface Machine {
  /** Files under the cgroup root, e.g. `{ 'memory.max': '268435456\n' }`. */
  cgroup?: Record<string, string>;
  /** Content of /proc/self/cgroup; undefined means the file is absent. */
  selfCgroup?: string;
  /** MemTotal in bytes (written as kB), raw meminfo text, or null for an absent file. */
  meminfo?: number | string | null;
  /** Extra env, e.g. WEB_CONCURRENCY. */
  env?: Record<string, string>;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  fd3: string;
}

const tmpDirs: string[] = [];
after(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function meminfoText(totalBytes: number): string {
  return `MemTotal:       ${totalBytes / 1024} kB\nMemFree:         1024000 kB\nMemAvailable:    2048000 kB\n`;
}

function setUp(machine: Machine): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'web-concurrency-'));
  tmpDirs.push(dir);
  const root = join(dir, 'cgroup');
  mkdirSync(root);
  for (const [rel, content] of Object.entries(machine.cgroup ?? {})) {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  const selfCgroup = join(dir, 'self-cgroup');
  if (machine.selfCgroup !== undefined) writeFileSync(selfCgroup, machine.selfCgroup);
  const meminfo = join(dir, 'meminfo');
  const mem = machine.meminfo === undefined ? 16 * GiB : machine.meminfo;
  if (mem !== null) writeFileSync(meminfo, typeof mem === 'number' ? meminfoText(mem) : mem);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AUSNIMBUS_CGROUP_ROOT: root,
    AUSNIMBUS_PROC_CGROUP: selfCgroup,
    AUSNIMBUS_MEMINFO: meminfo,
    ...machine.env,
  };
}

/** Runs the script with `shell` (or through its shebang when empty), fd 3 a pipe like the launcher's. */
function run(shell: string[], env: Record<string, string>, withFd3 = true): Run {
  const [cmd = SCRIPT, ...args] = [...shell, SCRIPT];
  const result = spawnSync(cmd, shell.length === 0 ? [] : args, {
    env,
    stdio: withFd3 ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    timeout: 10_000,
  });
  if (result.error) throw result.error;
  const text = (i: number): string => result.output[i]?.toString() ?? '';
  return { status: result.status, stdout: text(1), stderr: text(2), fd3: text(3) };
}

/** Strict check of the launcher's contract; returns the worker count. */
function workers(r: Run): number {
  expect(r.status, 'exit status').to.equal(0);
  expect(r.stderr, 'stderr').to.equal('');
  expect(r.stdout, 'stdout').to.equal('');
  expect(r.fd3.endsWith('\n'), 'fd 3 ends with a newline').to.equal(true);
  const lines = r.fd3.slice(0, -1).split('\n');
  expect(lines, 'fd 3 lines').to.have.lengthOf(1);
  const match = LINE.exec(lines[0] ?? '');
  expect(match, `fd 3 output ${JSON.stringify(r.fd3)}`).to.not.equal(null);
  const parsed = TOML.parse(r.fd3);
  expect(Object.keys(parsed)).to.deep.equal(['WEB_CONCURRENCY']);
  expect(parsed.WEB_CONCURRENCY).to.be.a('string');
  return Number(match?.[1]);
}

describe('layers/exec.d/web-concurrency', () => {
  it('is an executable #!/bin/sh file smaller than 4 KB', () => {
    const st = statSync(SCRIPT);
    expect(st.mode & 0o111, 'executable bits').to.equal(0o111);
    expect(st.size).to.be.below(4096);
    const head = spawnSync('/bin/sh', ['-c', 'read -r l <"$0"; printf %s "$l"', SCRIPT]).stdout.toString();
    expect(head).to.equal('#!/bin/sh');
  });

  it('runs through its shebang', () => {
    const env = setUp({ selfCgroup: '0::/\n', cgroup: { 'memory.max': `${768 * MiB}\n` } });
    expect(workers(run([], env))).to.equal(4);
  });

  it('writes to stdout when fd 3 is not open (run by hand)', () => {
    const env = setUp({ selfCgroup: '0::/\n', cgroup: { 'memory.max': `${3 * GiB}\n` } });
    const r = run(['/bin/sh'], env, false);
    expect(r.status).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal('WEB_CONCURRENCY = "8"\n');
  });

  it('replaces an invalid WEB_CONCURRENCY on stdout when fd 3 is not open (run by hand)', () => {
    const env = setUp({ selfCgroup: '0::/\n', cgroup: { 'memory.max': `${3 * GiB}\n` }, env: { WEB_CONCURRENCY: 'abc' } });
    const r = run(['/bin/sh'], env, false);
    expect(r).to.deep.equal({ status: 0, stdout: 'WEB_CONCURRENCY = "2"\n', stderr: replacedLine('abc'), fd3: '' });
  });

  for (const shell of SHELLS) {
    describe(`under ${shell.name}`, () => {
      before(() => {
        if (shell.missing !== undefined) throw new Error(shell.missing);
      });
      const workersFor = (machine: Machine): number => workers(run(shell.argv, setUp(machine)));
      const v2 = (max: string, meminfo?: number | string | null): Machine => ({
        selfCgroup: '0::/\n',
        cgroup: { 'memory.max': max },
        meminfo,
      });
      const v1 = (limit: string, meminfo?: number | string | null): Machine => ({
        selfCgroup: '12:memory:/\n0::/\n',
        cgroup: { 'memory/memory.limit_in_bytes': limit },
        meminfo,
      });

      describe('cgroup v2 memory.max (machine memory 16 GiB)', () => {
        const tiers: [string, number, number][] = [
          ['256 MiB', 256 * MiB, 2],
          ['512 MiB', 512 * MiB, 2],
          ['513 MiB', 513 * MiB, 4],
          ['768 MiB', 768 * MiB, 4],
          ['1 GiB', GiB, 4],
          ['1.5 GiB', 1.5 * GiB, 6],
          ['2 GiB', 2 * GiB, 6],
          ['3 GiB', 3 * GiB, 8],
          ['4 GiB', 4 * GiB, 8],
          ['4 GiB + 1 MiB', 4 * GiB + MiB, 10],
          ['8 GiB', 8 * GiB, 10],
        ];
        for (const [label, bytes, expected] of tiers) {
          it(`${label} -> ${expected}`, () => {
            expect(workersFor(v2(`${bytes}\n`))).to.equal(expected);
          });
        }

        it('"max" falls back to machine memory', () => {
          expect(workersFor(v2('max\n'))).to.equal(10);
          expect(workersFor(v2('max\n', GiB))).to.equal(4);
          expect(workersFor(v2('max\n', 400 * MiB))).to.equal(2);
        });

        it('a limit above machine memory is capped by it', () => {
          expect(workersFor(v2(`${8 * GiB}\n`, GiB))).to.equal(4);
        });

        it('reads the cgroup of /proc/self/cgroup, and its ancestors', () => {
          const nested = (files: Record<string, string>): Machine => ({
            selfCgroup: '0::/kubepods/pod1/ctr\n',
            cgroup: files,
          });
          expect(workersFor(nested({ 'kubepods/pod1/ctr/memory.max': `${768 * MiB}\n` }))).to.equal(4);
          expect(
            workersFor(
              nested({
                'kubepods/pod1/ctr/memory.max': 'max\n',
                'kubepods/pod1/memory.max': `${1.5 * GiB}\n`,
                'kubepods/memory.max': 'max\n',
              }),
            ),
          ).to.equal(6);
          expect(
            workersFor(
              nested({ 'kubepods/pod1/ctr/memory.max': `${3 * GiB}\n`, 'memory.max': `${256 * MiB}\n` }),
            ),
          ).to.equal(2);
        });

        it('uses the root memory.max when /proc/self/cgroup is absent', () => {
          expect(workersFor({ cgroup: { 'memory.max': `${1.5 * GiB}\n` } })).to.equal(6);
        });

        it('accepts a value without a trailing newline', () => {
          expect(workersFor(v2(`${3 * GiB}`))).to.equal(8);
        });
      });

      describe('cgroup v1 memory.limit_in_bytes (machine memory 16 GiB)', () => {
        it('uses the limit', () => {
          expect(workersFor(v1(`${256 * MiB}\n`))).to.equal(2);
          expect(workersFor(v1(`${1.5 * GiB}\n`))).to.equal(6);
          expect(workersFor(v1(`${8 * GiB}\n`))).to.equal(10);
        });

        it(`treats ${V1_UNLIMITED} as unlimited`, () => {
          expect(workersFor(v1(`${V1_UNLIMITED}\n`))).to.equal(10);
          expect(workersFor(v1(`${V1_UNLIMITED}\n`, 2 * GiB))).to.equal(6);
        });

        it('caps a limit above machine memory', () => {
          expect(workersFor(v1(`${4 * GiB}\n`, 700 * MiB))).to.equal(4);
        });

        it('reads the memory controller path of /proc/self/cgroup', () => {
          const machine: Machine = {
            selfCgroup: '12:pids:/docker/abc\n4:memory,hugetlb:/docker/abc\n1:name=systemd:/docker/abc\n',
            cgroup: {
              'memory/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
              'memory/docker/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
              'memory/docker/abc/memory.limit_in_bytes': `${3 * GiB}\n`,
              'pids/docker/abc/memory.limit_in_bytes': `${256 * MiB}\n`,
            },
          };
          expect(workersFor(machine)).to.equal(8);
        });

        it('reads a cgroup root that is the memory controller itself', () => {
          expect(workersFor({ cgroup: { 'memory.limit_in_bytes': `${768 * MiB}\n` } })).to.equal(4);
        });

        it('uses v1 on a hybrid host whose v2 tree has no memory controller', () => {
          const machine: Machine = {
            selfCgroup: '4:memory:/ctr\n0::/ctr\n',
            cgroup: {
              'unified/ctr/cgroup.procs': '1\n',
              'memory/ctr/memory.limit_in_bytes': `${2 * GiB}\n`,
            },
          };
          expect(workersFor(machine)).to.equal(6);
        });
      });

      describe('no cgroup limit', () => {
        it('uses machine memory', () => {
          expect(workersFor({ selfCgroup: '0::/\n' })).to.equal(10);
          expect(workersFor({ selfCgroup: '0::/\n', meminfo: 3 * GiB })).to.equal(8);
          expect(workersFor({ meminfo: 1.5 * GiB })).to.equal(6);
        });

        it('falls back to 2 without meminfo', () => {
          expect(workersFor({ meminfo: null })).to.equal(2);
        });

        it('uses the limit alone without meminfo', () => {
          expect(workersFor(v2(`${3 * GiB}\n`, null))).to.equal(8);
        });

        it('finds MemTotal when it is not the first line', () => {
          expect(workersFor({ meminfo: `MemFree: 1 kB\nMemTotal: ${(3 * GiB) / 1024} kB` })).to.equal(8);
        });
      });

      describe('WEB_CONCURRENCY set by the user', () => {
        // 3 GiB gives 8 workers, so a user value that is kept, replaced (2) or recomputed shows which.
        const withUserValue = (value: string): Run => run(shell.argv, setUp({ ...v2(`${3 * GiB}\n`), env: { WEB_CONCURRENCY: value } }));

        // Gunicorn reads these with int() as they are: blanks around a number and leading zeros are fine.
        for (const value of ['7', '1', '1000', ' 12\n', '\t3 ', '007', '0001000']) {
          it(`${JSON.stringify(value)} wins: no output at all`, () => {
            expect(withUserValue(value)).to.deep.equal({ status: 0, stdout: '', stderr: '', fd3: '' });
          });
        }

        it('is recomputed from memory, silently, when set but empty', () => {
          expect(workers(withUserValue(''))).to.equal(8);
        });

        // Gunicorn exits on the first ones (int() fails, or -1 is not positive); 0 and 1001 and up are no
        // sane worker count; +5 and 0x10 are not plain whole numbers.
        const invalid = ['abc', '-1', '0', '0000', '1e9', '2.5', '1001', '10000', '99999999999999999999', '+5', '0x10', ' ', '\t \n', '4 5', '*', '$(id)'];
        for (const value of invalid) {
          it(`${JSON.stringify(value)} is replaced by 2, with one line on stderr`, () => {
            const r = withUserValue(value);
            expect(r).to.deep.equal({ status: 0, stdout: '', stderr: replacedLine(value.replace(/[^ -~]/g, '?')), fd3: 'WEB_CONCURRENCY = "2"\n' });
          });
        }

        it('shows at most 40 characters of the value, unprintable ones as ?, so the message is one line', () => {
          expect(withUserValue('a\nb\u0001c').stderr).to.equal(replacedLine('a?b?c'));
          expect(withUserValue(`${'x'.repeat(40)}`).stderr).to.equal(replacedLine('x'.repeat(40)));
          expect(withUserValue(`${'x'.repeat(41)}`).stderr).to.equal(replacedLine(`${'x'.repeat(40)}...`));
          expect(withUserValue(`${'x'.repeat(39)}\n${'y'.repeat(500)}`).stderr).to.equal(replacedLine(`${'x'.repeat(39)}?...`));
        });
      });

      describe('garbage', () => {
        const garbage = ['', '\n', 'lots\n', '-1\n', '1e9\n', '12 34\n', '0x1000\n', '\u0000\u00ff\u0001\n', '99999999999999999999999999\n'];
        for (const value of garbage) {
          it(`memory.max ${JSON.stringify(value)} falls back to machine memory`, () => {
            expect(workersFor(v2(value, 1.5 * GiB))).to.equal(6);
            expect(workersFor(v1(value, 1.5 * GiB))).to.equal(6);
          });
        }

        it('reads leading zeros as decimal, never octal', () => {
          expect(workersFor(v2('0000000805306368\n'))).to.equal(4);
          expect(workersFor(v2('09\n', 3 * GiB))).to.equal(2);
          expect(workersFor({ meminfo: 'MemTotal: 00000003145728 kB\n' })).to.equal(8);
        });

        it('a limit of 0 gives the minimum', () => {
          expect(workersFor(v2('0\n'))).to.equal(2);
        });

        it('garbage meminfo and no limit gives 2', () => {
          for (const meminfo of ['', 'MemTotal: lots kB\n', 'MemTotal:\n', 'garbage', `MemTotal: ${'9'.repeat(30)} kB\n`]) {
            expect(workersFor({ meminfo })).to.equal(2);
          }
        });

        it('garbage /proc/self/cgroup is ignored', () => {
          const machine = (selfCgroup: string): Machine => ({ selfCgroup, cgroup: { 'memory.max': `${768 * MiB}\n` } });
          for (const self of ['', 'garbage', '0::relative\n', '0::/../../etc\n', ':::::\n', '\u0000\n']) {
            expect(workersFor(machine(self))).to.equal(4);
          }
        });

        it('a directory where a file is expected is ignored', () => {
          const machine: Machine = {
            selfCgroup: '0::/\n',
            cgroup: { 'memory.max/x': '1\n', 'memory/memory.limit_in_bytes/x': '1\n' },
          };
          expect(workersFor(machine)).to.equal(10);
        });

        it('an absent cgroup root and meminfo still give valid output', () => {
          const env = setUp({ meminfo: null });
          env.AUSNIMBUS_CGROUP_ROOT = '/nonexistent/cgroup';
          env.AUSNIMBUS_PROC_CGROUP = '/nonexistent/cgroup-self';
          expect(workers(run(shell.argv, env))).to.equal(2);
        });
      });
    });
  }
});
