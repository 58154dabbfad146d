import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderStatus, type ContainerProgress } from '../../../src/core/orders/order-status.ts';

const queued: ContainerProgress = { deployment: { status: 'queued', error: null }, task: { status: 'pending', attempts: 0, error: null } };
const retrying: ContainerProgress = { deployment: { status: 'queued', error: null }, task: { status: 'pending', attempts: 1, error: null } };
const building: ContainerProgress = { deployment: { status: 'building', error: null }, task: { status: 'running', attempts: 1, error: null } };
const done: ContainerProgress = { deployment: { status: 'success', error: null }, task: { status: 'succeeded', attempts: 1, error: null } };

describe('order status', () => {
  it('is open until something starts, pending while a deployment waits to retry, processing while one runs', () => {
    assert.deepEqual(orderStatus(false, [queued, queued]), { status: 'open', failures: [] });
    assert.equal(orderStatus(false, [queued, retrying]).status, 'pending');
    assert.equal(orderStatus(false, [done, building]).status, 'processing');
    assert.equal(orderStatus(false, [done, queued]).status, 'processing');
  });

  it('is completed when every container runs', () => {
    assert.equal(orderStatus(false, [done, done]).status, 'completed');
  });

  it('is failed when a container failed, saying which and why', () => {
    const crashed: ContainerProgress = { deployment: { status: 'timeout-error', error: 'web-1 did not listen on PORT 5000 within 60 s.' }, task: { status: 'failed', attempts: 1, error: 'x' } };
    assert.deepEqual(orderStatus(false, [done, crashed]), { status: 'failed', failures: [{ position: 1, reason: 'web-1 did not listen on PORT 5000 within 60 s.' }] });
    const taskFailed: ContainerProgress = { deployment: { status: 'building', error: null }, task: { status: 'failed', attempts: 5, error: 'Compute is not configured.' } };
    assert.deepEqual(orderStatus(false, [taskFailed, building]).failures, [{ position: 0, reason: 'Compute is not configured.' }]);
    const gone: ContainerProgress = { deployment: null, task: null };
    assert.match(orderStatus(false, [gone]).failures[0]!.reason, /deleted/);
  });

  it('is cancelled once cancelled, whatever its containers say', () => {
    assert.deepEqual(orderStatus(true, [{ deployment: null, task: null }]), { status: 'cancelled', failures: [] });
  });
});
