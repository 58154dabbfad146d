import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTimestamp } from '../../src/core/clock.ts';

describe('timestamps given as input', () => {
  it('are read into the stored form, or refused when no date holds them', () => {
    assert.equal(parseTimestamp('2030-01-02T03:04:05+01:00'), '2030-01-02T02:04:05.000Z');
    assert.equal(parseTimestamp('2030-06-30T23:59:60Z'), null);
    assert.equal(parseTimestamp('+275760-09-14T00:00:00Z'), null);
    assert.equal(parseTimestamp('yesterday'), null);
  });
});
