/** The cause a call fails with, for tests that assert on causes rather than on rendered text. */
import { expect } from 'chai';
import type { Cause } from '../../src/causes.js';
import { BuildpackError } from '../../src/failure.js';

export function thrownCause(fn: () => unknown): Cause {
  try {
    fn();
  } catch (err) {
    expect(err, 'a BuildpackError').to.be.instanceOf(BuildpackError);
    return (err as BuildpackError).cause;
  }
  return expect.fail('expected the call to fail');
}

export async function rejectedCause(promise: Promise<unknown>): Promise<Cause> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'a BuildpackError').to.be.instanceOf(BuildpackError);
  return (err as BuildpackError).cause;
}
