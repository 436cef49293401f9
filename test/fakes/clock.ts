/** A Clock (src/logger.ts) that moves only when a test says so, so timings in the log and ages are fixed. */
import type { Clock } from '../../src/logger.js';

export class FakeClock implements Clock {
  constructor(
    private ms = 0,
    /** The wall time at ms = 0: 2026-01-01T00:00:00Z unless a test says otherwise. */
    private readonly epochMs = Date.UTC(2026, 0, 1),
  ) {}

  now(): number {
    return this.ms;
  }

  wallTime(): number {
    return this.epochMs + this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
