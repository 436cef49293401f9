/**
 * The build's log sinks: stdout and stderr written at the descriptor. Not in logger.ts, as detect must not load
 * node:fs (src/cnb/files.ts says why).
 */
import fs from 'node:fs';
import type { LogSink } from './logger.js';

/**
 * Writes straight to the file descriptor, as Node does for process.stdout on Linux pipes and files (Node docs,
 * "A note on process I/O": synchronous there) but without making process.stdout, which under bun loads
 * node:stream at a cost to every start. Should the descriptor refuse a write (EAGAIN on a non-blocking pipe, or
 * any error), the rest and every later write go through the stream as before, so the order of lines holds.
 */
function fdSink(fd: 1 | 2, stream: () => NodeJS.WriteStream): LogSink {
  let viaStream = false;
  return {
    write: (text) => {
      if (!viaStream) {
        let rest = Buffer.from(text);
        try {
          while (rest.length > 0) rest = rest.subarray(fs.writeSync(fd, rest));
          return;
        } catch {
          viaStream = true;
          void stream().write(rest);
          return;
        }
      }
      void stream().write(text);
    },
  };
}

export const stdoutSink: LogSink = fdSink(1, () => process.stdout);
/** Warnings and errors go to stderr, as other buildpacks write them (libherokubuildpack's log_error). */
export const stderrSink: LogSink = fdSink(2, () => process.stderr);
