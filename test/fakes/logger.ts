/**
 * A Logger (src/logger.ts) whose sinks are kept in memory: stdout (steps, details, tool output) and stderr
 * (warnings and errors) separately, without colour, as the user reads them.
 */
import { Logger, type Clock } from '../../src/logger.js';
import { FakeClock } from './clock.js';

export class CapturedLog {
  private out = '';
  private err = '';
  readonly logger: Logger;

  constructor(opts: { clock?: Clock; debug?: boolean } = {}) {
    this.logger = new Logger(
      {
        write: (t) => {
          this.out += t;
        },
      },
      opts.clock ?? new FakeClock(),
      false,
      opts.debug ?? false,
      {
        write: (t) => {
          this.err += t;
        },
      },
    );
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** The stdout lines, without the blank lines before headers. */
  get lines(): string[] {
    return this.out.split('\n').filter((l) => l !== '');
  }

  /**
   * A finding and the `  - ` items under it, as in `- Discarding cached Python 3.12.6 since:` and its reasons;
   * empty when no stdout line starts with `finding`.
   */
  block(finding: string): string[] {
    const lines = this.lines;
    const start = lines.findIndex((l) => l.startsWith(finding));
    if (start < 0) return [];
    const out = [lines[start] as string];
    for (const l of lines.slice(start + 1)) {
      if (!l.startsWith('  - ')) break;
      out.push(l);
    }
    return out;
  }

  /** Forgets what was written so far (between two builds of one test). */
  clear(): void {
    this.out = '';
    this.err = '';
  }
}
