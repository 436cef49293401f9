/** Shared by the benchmarks: timing a whole process (wall, and CPU when /usr/bin/time exists), medians, step times. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export interface Run {
  ms: number;
  /** user+sys seconds of the process and its children, when /usr/bin/time is there. */
  cpu: number | undefined;
  code: number | null;
  output: string;
}

export function timed(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const timeFile = TIME ? path.join(os.tmpdir(), `bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined;
  const full = TIME && timeFile ? [TIME, '-f', '%U %S', '-o', timeFile, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(full[0] as string, full.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      resolve({ ms, cpu: readCpu(timeFile), code, output });
    });
  });
}

/** user+sys seconds from /usr/bin/time's output file (removed), when there is one. */
function readCpu(timeFile: string | undefined): number | undefined {
  if (!timeFile || !fs.existsSync(timeFile)) return undefined;
  const [u, s] = (fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
  fs.rmSync(timeFile, { force: true });
  return (u ?? 0) + (s ?? 0);
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** The duration the build log gives a step: `<label> (finished in 6.1s)` → 6100. `label` is a regex source. */
export function stepMs(log: string, label: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with the ESC control character
  const plain = log.replace(/\x1b\[[0-9;]*m/g, '');
  const m = new RegExp(`${label} \\((?:finished in )?(< )?([\\d.]+)s\\)`).exec(plain);
  if (!m?.[2]) throw new Error(`no '${label} (finished in …)' line in:\n${log}`);
  return Number(m[2]) * 1000;
}

/** A whole process timed as `timed` does, with the moment (ms from the start) each line of its output arrived. */
export interface LinedRun extends Run {
  lines: Array<{ ms: number; text: string }>;
}

export function timedLines(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LinedRun> {
  const timeFile = TIME ? path.join(os.tmpdir(), `bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined;
  const full = TIME && timeFile ? [TIME, '-f', '%U %S', '-o', timeFile, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(full[0] as string, full.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: LinedRun['lines'] = [];
    let output = '';
    let partial = '';
    const onData = (d: Buffer): void => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const text = d.toString();
      output += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      for (const t of parts) lines.push({ ms, text: t });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (partial) lines.push({ ms, text: partial });
      resolve({ ms, cpu: readCpu(timeFile), code, output, lines });
    });
  });
}

/** When (ms from the start) the first output line matching `re` arrived. */
export function lineMs(run: LinedRun, re: RegExp): number {
  const found = run.lines.find((l) => re.test(l.text));
  if (!found) throw new Error(`no line matching ${re} in:\n${run.output}`);
  return found.ms;
}

/** Per-column samples, in the order added, with medians. */
export class Columns {
  readonly cols = new Map<string, { ms: number[]; cpu: number[] }>();

  add(name: string, ms: number, cpu?: number): void {
    let c = this.cols.get(name);
    if (!c) {
      c = { ms: [], cpu: [] };
      this.cols.set(name, c);
    }
    c.ms.push(ms);
    if (cpu !== undefined) c.cpu.push(cpu);
  }

  get(name: string): { ms: number[]; cpu: number[] } {
    const c = this.cols.get(name);
    if (!c) throw new Error(`no measurements for '${name}'`);
    return c;
  }

  median(name: string): number {
    return median(this.get(name).ms);
  }

  /** Median of the per-run ratios a[i] / b[i] (runs taken in pairs, so each ratio shares the machine's load of its moment). */
  pairedRatio(a: string, b: string): number {
    const x = this.get(a).ms;
    const y = this.get(b).ms;
    return median(x.map((v, i) => v / (y[i] as number)));
  }

  print(width = 52): void {
    console.log(`${'measure'.padEnd(width)} ${'median ms'.padStart(10)} ${'min-max ms'.padStart(13)} ${'cpu s'.padStart(7)}`);
    for (const [name, col] of this.cols) {
      const range = `${Math.min(...col.ms).toFixed(0)}-${Math.max(...col.ms).toFixed(0)}`;
      console.log(`${name.padEnd(width)} ${median(col.ms).toFixed(0).padStart(10)} ${range.padStart(13)} ${(col.cpu.length ? median(col.cpu).toFixed(2) : '').padStart(7)}`);
    }
  }
}

/** The argv prefix that runs a command as the build user (uid 1000), as the lifecycle does; empty when not root. */
export const AS_BUILD_USER = process.getuid?.() === 0 ? ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', '--'] : [];

/** Gives `dir` and everything below it to the build user, when the benchmark runs as root (see AS_BUILD_USER). */
export function chownTree(dir: string): void {
  if (AS_BUILD_USER.length === 0) return;
  fs.chownSync(dir, 1000, 1000);
  for (const e of fs.readdirSync(dir, { recursive: true }) as string[]) fs.lchownSync(path.join(dir, e), 1000, 1000);
}
