/**
 * The `#!` line of an s2i script, read as the Linux kernel reads it (execve(2), "Interpreter scripts"): the
 * interpreter is the path after `#!` up to the first space or tab, the rest of the line is one optional
 * argument, and the line ends at `\n` only. A `\r` left by Windows line endings stays part of the line, so
 * `#!/bin/bash\r\n` names the interpreter `/bin/bash\r`, which does not exist: spawning the script then
 * fails with a bare ENOENT, as it does when the interpreter is missing from the image. Checking the line
 * first turns both into messages that name the cause.
 */
import fs from 'node:fs';

export type Shebang =
  /** No `#!` line: the kernel refuses to run the file (ENOEXEC). */
  | { kind: 'none' }
  /** The `#!` line ends with a carriage return. */
  | { kind: 'crlf'; interpreter: string }
  | { kind: 'interpreter'; interpreter: string; argument: string | undefined };

/** Linux reads at most this much of the file for the `#!` line (BINPRM_BUF_SIZE, 256 bytes since Linux 5.1). */
const HEAD_BYTES = 256;

export function readShebang(file: string): Shebang {
  const fd = fs.openSync(file, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    head = buf.toString('latin1', 0, fs.readSync(fd, buf, 0, HEAD_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
  return parseShebang(head);
}

export function parseShebang(head: string): Shebang {
  if (!head.startsWith('#!')) return { kind: 'none' };
  const line = head.slice(2).split('\n', 1)[0] ?? '';
  // Parsed without the carriage return, so that the message can name the interpreter as the user wrote it.
  const m = /^[ \t]*([^ \t]*)[ \t]*(.*?)[ \t]*$/s.exec(line.replace(/\r/g, ''));
  const interpreter = m?.[1] ?? '';
  if (line.includes('\r')) return { kind: 'crlf', interpreter };
  return { kind: 'interpreter', interpreter, argument: m?.[2] || undefined };
}

/**
 * Whether the interpreter of a `#!` line can be executed on this image. Only absolute paths are checked: a
 * relative one is resolved against the working directory at run time.
 */
export function interpreterAvailable(interpreter: string): boolean {
  if (!interpreter.startsWith('/')) return true;
  try {
    fs.accessSync(interpreter, fs.constants.X_OK);
    return fs.statSync(interpreter).isFile();
  } catch {
    return false;
  }
}
