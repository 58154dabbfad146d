import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { projectState } from '../../../src/core/projects/project-state.ts';

describe('project state', () => {
  it('is empty without members, stopped when nothing runs', () => {
    assert.equal(projectState([]), 'empty');
    assert.equal(projectState([{ type: 'app', status: 'new' }, { type: 'server', status: 'stopped' }, { type: 'volume', status: 'available' }]), 'stopped');
  });

  it('is active when an app or a server runs; a volume or an image alone runs nothing', () => {
    assert.equal(projectState([{ type: 'app', status: 'running' }, { type: 'server', status: 'stopped' }]), 'active');
    assert.equal(projectState([{ type: 'server', status: 'running' }]), 'active');
    assert.equal(projectState([{ type: 'volume', status: 'in_use' }, { type: 'image', status: 'ready' }]), 'stopped');
  });

  it('is working while a member changes, before anything else', () => {
    assert.equal(projectState([{ type: 'app', status: 'running' }, { type: 'app', status: 'building' }]), 'working');
    assert.equal(projectState([{ type: 'app', status: 'crashed' }, { type: 'server', status: 'starting' }]), 'working');
    assert.equal(projectState([{ type: 'image', status: 'pending' }]), 'working');
  });

  it('is alert when a member has failed and none is changing', () => {
    assert.equal(projectState([{ type: 'app', status: 'running' }, { type: 'app', status: 'crashed' }]), 'alert');
    assert.equal(projectState([{ type: 'volume', status: 'error' }]), 'alert');
  });
});
