import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quickRatio, validatePassword } from '../../../src/core/users/password-validation.ts';

const TOO_SHORT = 'This password is too short. It must contain at least 8 characters.';
const TOO_COMMON = 'This password is too common.';
const NUMERIC = 'This password is entirely numeric.';

describe("password validation (Django's validators and messages)", () => {
  it('accepts a long, uncommon password unrelated to the user', () => {
    assert.deepEqual(validatePassword('violet-tugboat-41', { username: 'alice', email: 'alice@example.com' }), []);
  });

  it('returns every failing message together, in Django\'s order (the seed\'s example)', () => {
    assert.deepEqual(validatePassword('1234', { username: 'alice' }), [TOO_SHORT, TOO_COMMON, NUMERIC]);
  });

  it('has each message on its own', () => {
    assert.deepEqual(validatePassword('zq8!', {}), [TOO_SHORT]);
    assert.deepEqual(validatePassword('Password1', {}), [TOO_COMMON], 'the list is compared case-insensitively');
    assert.deepEqual(validatePassword('  qwertyuiop  ', {}), [TOO_COMMON], 'and with surrounding spaces stripped');
    assert.deepEqual(validatePassword('bigpimpin1', {}), [TOO_COMMON], "the list's first line");
    assert.deepEqual(validatePassword('chobits', {}), [TOO_SHORT, TOO_COMMON], 'and its last');
    assert.deepEqual(validatePassword('welcome\nwillow', {}), [], 'two lines of the list are not one password of it');
    assert.deepEqual(validatePassword('90817263544', {}), [NUMERIC]);
    assert.deepEqual(validatePassword('alice2024', { username: 'alice' }), ['The password is too similar to the username.']);
    assert.deepEqual(validatePassword('Brandywine7', { first_name: 'Brandywine' }), ['The password is too similar to the first name.']);
    assert.deepEqual(validatePassword('Gamgee-Gamgee', { last_name: 'Gamgee-Gamgee' }), ['The password is too similar to the last name.']);
  });

  it('compares the email address whole and word by word, as Django does', () => {
    // "smith" is one word of the address: quick_ratio("johnsmith", "smith") = 0.714 >= 0.7.
    assert.deepEqual(validatePassword('johnsmith', { email: 'john.smith@example.com' }), ['The password is too similar to the email address.']);
    assert.deepEqual(validatePassword('tr0ub4dor&3', { email: 'john.smith@example.com' }), []);
  });

  it('skips values much shorter than the password, as Django does', () => {
    // "al" is 2 characters against 25: Django never compares them (length ratio shortcut).
    assert.deepEqual(validatePassword('al-violet-tugboat-41-xyzw', { username: 'al' }), []);
  });

  it("computes difflib's quick_ratio", () => {
    // Figures from Python: difflib.SequenceMatcher(a=..., b=...).quick_ratio().
    assert.equal(quickRatio('alice2024', 'alice'), 0.7142857142857143);
    assert.equal(quickRatio('johnsmith', 'john.smith@example.com'), 0.5806451612903226);
    assert.equal(quickRatio('example.com', 'john.smith@example.com'), 0.6666666666666666);
    assert.equal(quickRatio('abcdefgh', 'hgfedcba'), 1);
    assert.equal(quickRatio('password', 'passw'), 0.7692307692307693);
    assert.equal(quickRatio('tr0ub4dor', 'zzz'), 0);
  });
});
