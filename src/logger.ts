/**
 * The build log: a header per step, indented detail lines, tool output nested under its step, and the time
 * each step took. Every line goes through maskSecrets(), so credentials in URLs never reach the log.
 */
import { pythonQuote } from './python-quote.js';
import { MASK, maskSecrets } from './secrets.js';

export interface Clock {
  /** Milliseconds on a monotonic clock, for durations. */
  now(): number;
  /** Milliseconds since the Unix epoch (wall time), for ages that outlive one build. */
  wallTime(): number;
}
export const systemClock: Clock = { now: () => performance.now(), wallTime: () => Date.now() };

export interface LogSink {
  write(text: string): void;
}

/**
 * Through console.log and console.error, which write synchronously to files and pipes (Node docs, "A note on
 * process I/O"; bun likewise) and load nothing at start: detect's sinks, as its log is a line or two. Every
 * write the Logger makes is whole lines, each ending in a newline, which console adds back.
 */
const consoleLines = (print: (line: string) => void): LogSink => ({ write: (text) => print(text.endsWith('\n') ? text.slice(0, -1) : text) });
export const consoleSink: LogSink = consoleLines(console.log);
export const consoleErrorSink: LogSink = consoleLines(console.error);

const BOLD_MAGENTA = '\x1b[1;35m';
const BOLD_RED = '\x1b[1;31m';
const BOLD_YELLOW = '\x1b[1;33m';
const RESET = '\x1b[0m';

export class Logger {
  constructor(
    private readonly sink: LogSink = consoleSink,
    private readonly clock: Clock = systemClock,
    private readonly color = !process.env.NO_COLOR,
    readonly debugEnabled = false,
    private readonly errSink: LogSink = sink,
  ) {}

  /** Values printed as the mask wherever they appear (see redact). */
  private readonly redacted: string[] = [];

  private line(text: string, sink: LogSink = this.sink): void {
    let shown = maskSecrets(text);
    for (const v of this.redacted) if (shown.includes(v)) shown = shown.split(v).join(MASK);
    sink.write(`${shown}\n`);
  }

  /**
   * From now on, `values` (and their percent-encoded forms) are printed as the mask wherever they appear: secrets
   * the build placed where no URL rule finds them, such as a token in an index URL's path. Values under 4
   * characters are left alone: masking them everywhere would garble the log, and they guard nothing.
   */
  redact(values: readonly string[]): void {
    // as written, and as URLs carry them: JavaScript's and Python's percent-encoding (pip quotes file URLs with '/' safe)
    const forms = (x: string): string[] => [x, encodeURIComponent(x), pythonQuote(x), pythonQuote(x, '/')];
    for (const v of values.flatMap(forms)) {
      if (v.length >= 4 && !this.redacted.includes(v)) this.redacted.push(v);
    }
    // the longest first, so that a value containing another is masked whole
    this.redacted.sort((a, b) => b.length - a.length);
  }

  private paint(code: string, text: string): string {
    return this.color ? code + text + RESET : text;
  }

  /** `[Installing Python]`, preceded by a blank line. */
  header(title: string): void {
    this.sink.write('\n');
    this.line(this.paint(BOLD_MAGENTA, `[${title}]`));
  }

  /** A step or finding: `- text`. */
  info(text: string): void {
    this.line(`- ${text}`);
  }

  /** A detail under a step. */
  detail(text: string): void {
    this.line(`  ${text}`);
  }

  debug(text: string): void {
    if (this.debugEnabled) this.line(`  [debug] ${text}`);
  }

  /** `[Warning: title]` and its body, on the error sink. */
  warning(title: string, body: string): void {
    this.block(BOLD_YELLOW, `[Warning: ${title}]`, body);
  }

  /** `[Error: title]` and its body, on the error sink. */
  error(title: string, body: string): void {
    this.block(BOLD_RED, `[Error: ${title}]`, body);
  }

  private block(color: string, heading: string, body: string): void {
    this.errSink.write('\n');
    this.line(this.paint(color, heading), this.errSink);
    for (const l of body.split('\n')) this.line(l, this.errSink);
  }

  /**
   * A writer for a tool's output: each line indented under the current step and masked. A line can arrive in
   * many chunks (a 1 MB base64 line through a 64 KB pipe, or a few bytes at a time): only each new chunk is
   * searched for line breaks, and the pieces of the unfinished line are joined once, when it ends, so the cost
   * stays linear in the output.
   */
  toolOutput(): { write(chunk: string): void; flush(): void } {
    let pending: string[] = [];
    // Lines end at LF; a CR before it (split from it across two chunks, too) is dropped, as /\r?\n/ would.
    const emit = (l: string): void => this.line(`      ${l.endsWith('\r') ? l.slice(0, -1) : l}`);
    return {
      write: (chunk) => {
        let start = 0;
        for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
          pending.push(chunk.slice(start, nl));
          emit(pending.join(''));
          pending = [];
          start = nl + 1;
        }
        if (start < chunk.length) pending.push(chunk.slice(start));
      },
      flush: () => {
        const rest = pending.join('');
        pending = [];
        if (rest) emit(rest);
      },
    };
  }

  /** Runs a step, then prints `Done (finished in 1.2s)`. */
  async timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    const result = await fn();
    this.line(`- ${label} (finished in ${formatDuration(this.clock.now() - start)})`);
    return result;
  }

  elapsedSince(start: number): string {
    return formatDuration(this.clock.now() - start);
  }

  now(): number {
    return this.clock.now();
  }
}

export function formatDuration(ms: number): string {
  if (ms < 100) return '< 0.1s';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
