import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilities } from '../../../src/core/capabilities/capabilities.ts';
import { createSecretBox } from '../../../src/core/secrets/secret-box.ts';

describe('capabilities in URLs', () => {
  const box = createSecretBox('a-secret-key-that-is-long-enough-for-tests');
  let now = 1_000_000;
  const capabilities = createCapabilities(box, () => now);

  it('grants what was sealed, for its purpose only, until it expires', () => {
    const { token, expiresAt } = capabilities.issue('logs', { app: 'a1' }, 60_000);
    assert.equal(expiresAt.getTime(), 1_060_000);
    assert.match(token, /^[\w.-]+$/, 'safe in a URL as it is');
    assert.deepEqual(capabilities.read('logs', token), { app: 'a1' });
    assert.equal(capabilities.read('upload', token), null);
    now = 1_060_000;
    assert.equal(capabilities.read('logs', token), null);
  });

  it('refuses an altered token, one of another key, and garbage', () => {
    now = 0;
    const { token } = capabilities.issue('logs', { app: 'a1' }, 60_000);
    const parts = token.split('.');
    parts[2] = parts[2]!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal(capabilities.read('logs', parts.join('.')), null);
    const other = createCapabilities(createSecretBox('another-secret-key-that-is-long-enough'), () => 0);
    assert.equal(other.read('logs', token), null);
    for (const junk of ['', 'v1', 'v1.a.b.c', 'x'.repeat(10_000)]) assert.equal(capabilities.read('logs', junk), null);
  });
});
