import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../../../src/core/actor.ts';
import { CredentialCache, type VerifiedCredential } from '../../../src/core/auth/credential-cache.ts';

const principal = (credentialId: string) => ({ userId: 'u1', username: 'alice', credentialId }) as Principal;

/** Database reads the test ends when it wants (the latest one, or the one it names), counted. */
function controlledVerify(credentialId: string) {
  const finishers: ((result: VerifiedCredential | Error) => void)[] = [];
  const verify = () =>
    new Promise<VerifiedCredential>((resolve, reject) => {
      finishers.push((result) => (result instanceof Error ? reject(result) : resolve(result)));
    });
  const verified: VerifiedCredential = { principal: principal(credentialId), expiresAt: Date.now() + 60_000, revokedWith: [credentialId] };
  return {
    verify,
    finish: (result: VerifiedCredential | Error = verified, read = finishers.length - 1) => finishers[read]!(result),
    reads: () => finishers.length,
  };
}

describe('the credential cache', () => {
  it('reads the database once for requests that miss together, and answers the next from memory', async () => {
    const cache = new CredentialCache();
    const read = controlledVerify('t1');
    const together = Promise.all([1, 2, 3].map(() => cache.resolve('k', read.verify)));
    read.finish();
    assert.deepEqual((await together).map((p) => p.credentialId), ['t1', 't1', 't1']);
    assert.equal((await cache.resolve('k', read.verify)).credentialId, 't1');
    assert.equal(read.reads(), 1);
  });

  it('refuses every waiter of a failed read, and caches nothing from it', async () => {
    const cache = new CredentialCache();
    const read = controlledVerify('t1');
    const together = [1, 2].map(() => cache.resolve('k', read.verify));
    read.finish(new Error('invalid token'));
    for (const waiter of together) await assert.rejects(waiter, /invalid token/);
    const again = cache.resolve('k', read.verify);
    read.finish();
    assert.equal((await again).credentialId, 't1');
    assert.equal(read.reads(), 2);
  });

  it('does not keep what a read begun before a revocation found: the next request reads again', async () => {
    const cache = new CredentialCache();
    const read = controlledVerify('t1');
    const before = cache.resolve('k', read.verify);
    cache.forget(new Set(['t1']));
    // A request after the revocation does not join the read that began before it.
    const after = cache.resolve('k', read.verify);
    assert.equal(read.reads(), 2);
    read.finish(undefined, 0);
    assert.equal((await before).credentialId, 't1');
    read.finish(new Error('revoked'), 1);
    await assert.rejects(after, /revoked/);
    // The first read's answer was not stored: the next request reads again, and is refused.
    const next = cache.resolve('k', read.verify);
    assert.equal(read.reads(), 3);
    read.finish(new Error('revoked'));
    await assert.rejects(next, /revoked/);
  });

  it('forgets what a revocation ends', async () => {
    const cache = new CredentialCache();
    const read = controlledVerify('t1');
    const first = cache.resolve('k', read.verify);
    read.finish();
    await first;
    cache.forget(new Set(['t1']));
    const again = cache.resolve('k', read.verify);
    read.finish(new Error('revoked'));
    await assert.rejects(again, /revoked/);
    assert.equal(read.reads(), 2);
  });
});
