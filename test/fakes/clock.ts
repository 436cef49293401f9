/** A Clock (src/logger.ts) that moves only when a test says so, so timings in the log are fixed. */
import type { Clock } from '../../src/logger.js';

export class FakeClock implements Clock {
  constructor(private ms = 0) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
