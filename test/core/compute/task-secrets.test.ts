import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSecretBox, SecretKeyMismatch } from '../../../src/core/secrets/secret-box.ts';
import { revealSecrets, withSealedSecrets } from '../../../src/core/tasks/task-secrets.ts';

const box = createSecretBox('a-secret-key-for-these-tests-0123456789');
const TASK = '2b7c4f7e-1a53-4b8e-9d0c-5d8f3e9b1a10';
const OTHER_TASK = '9f1d2c3b-4a5e-4f60-8b7c-1d2e3f4a5b6c';

describe('secrets in task results', () => {
  it('keeps a secret sealed at rest and opens it for readers of its task', () => {
    const stored = withSealedSecrets(box, TASK, { id: 'x' }, { password: 'Hunter2Hunter2' });
    assert.doesNotMatch(JSON.stringify(stored), /Hunter2/);
    assert.deepEqual(revealSecrets(box, TASK, JSON.parse(JSON.stringify(stored))), { id: 'x', password: 'Hunter2Hunter2' });
  });

  it('will not open a secret moved to another task or field', () => {
    const stored = withSealedSecrets(box, TASK, {}, { password: 'Hunter2Hunter2' }) as { sealed_secrets: { password: string } };
    assert.throws(() => revealSecrets(box, OTHER_TASK, stored), SecretKeyMismatch);
    assert.throws(() => revealSecrets(box, TASK, { sealed_secrets: { token: stored.sealed_secrets.password } }), SecretKeyMismatch);
  });

  it('leaves results without secrets as they are', () => {
    for (const result of [null, 'text', [1, 2], { purged: true }]) assert.deepEqual(revealSecrets(box, TASK, result), result);
  });
});
