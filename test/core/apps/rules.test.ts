import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAppName } from '../../../src/core/apps/rules.ts';
import type { FieldErrors } from '../../../src/core/errors.ts';

const errorsOf = (name: unknown) => {
  const errors: FieldErrors = {};
  checkAppName(errors, 'name', name);
  return errors.name;
};

describe('app names', () => {
  it('accepts 6 to 48 lowercase letters, digits and hyphens', () => {
    for (const name of ['abcdef', 'my-app-2', 'a'.repeat(48), '123456']) assert.equal(errorsOf(name), undefined, name);
  });

  it('refuses every other name with Scalingo\'s messages', () => {
    assert.deepEqual(errorsOf('abcde'), ['should have between 6 and 48 characters']);
    assert.deepEqual(errorsOf('ABCDEF'), ['should contain only lowercap letters, digits and hyphens']);
    assert.deepEqual(errorsOf('x.y'), ['should have between 6 and 48 characters', 'should contain only lowercap letters, digits and hyphens']);
    assert.deepEqual(errorsOf('app-name-'), ['should not start or end with a hyphen']);
    assert.deepEqual(errorsOf(undefined), ['This field is required.']);
    assert.deepEqual(errorsOf(42), ['This field is required.']);
  });
});
