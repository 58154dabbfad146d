import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickFairly, tenantOf } from '../../src/core/tasks/worker.ts';

const ROOT = '/r/';
const A = '/r/a/';
const B = '/r/b/';

describe('fair claiming', () => {
  it('counts an organization in the tenant right below the root; the root is a tenant of its own', () => {
    assert.equal(tenantOf('/r/'), '/r/');
    assert.equal(tenantOf('/r/a/'), '/r/a/');
    assert.equal(tenantOf('/r/a/x/y/'), '/r/a/');
  });

  it('takes tenants in turn, each within its room, in the order given within a tenant', () => {
    const candidates = [
      { id: 1, organization_path: A },
      { id: 2, organization_path: `${A}x/` },
      { id: 3, organization_path: A },
      { id: 4, organization_path: B },
      { id: 5, organization_path: ROOT },
      { id: 6, organization_path: B },
    ];
    const ids = (limit: number, room: (tenant: string) => number) => pickFairly(candidates, limit, room).map((c) => c.id);
    assert.deepEqual(ids(6, () => 10), [1, 4, 5, 2, 6, 3]);
    assert.deepEqual(ids(3, () => 10), [1, 4, 5]);
    assert.deepEqual(ids(6, (tenant) => (tenant === A ? 1 : 10)), [1, 4, 5, 6]);
    assert.deepEqual(ids(6, (tenant) => (tenant === A ? 0 : 1)), [4, 5]);
  });
});
