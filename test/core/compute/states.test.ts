import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidState } from '../../../src/core/errors.ts';
import {
  allowedServerActions,
  assertServerAcceptsVolumeChanges,
  assertServerDeletable,
  resolveServerAction,
  startServerAction,
  startVolumeOperation,
} from '../../../src/core/compute/states.ts';

describe('server state rules', () => {
  it('moves a server to the transitional state of each allowed action', () => {
    assert.equal(startServerAction('stopped', 'poweron'), 'starting');
    assert.equal(startServerAction('error', 'poweron'), 'starting');
    assert.equal(startServerAction('running', 'poweroff'), 'stopping');
    assert.equal(startServerAction('running', 'reboot'), 'stopping');
    assert.equal(startServerAction('stopped', 'terminate'), 'stopping');
    assert.equal(startServerAction('running', 'update_information'), 'running');
  });

  it('refuses an action in the wrong state with the current and expected states', () => {
    for (const [state, action] of [['running', 'poweron'], ['stopped', 'poweroff'], ['starting', 'reboot'], ['stopping', 'terminate'], ['stopped', 'update_information']] as const) {
      assert.throws(() => startServerAction(state, action), (error: unknown) => error instanceof InvalidState && error.current === state && error.expected.length > 0 && !error.expected.includes(state));
    }
  });

  it('lists exactly the actions a state accepts', () => {
    assert.deepEqual(allowedServerActions('stopped'), ['poweron', 'terminate', 'destroy']);
    assert.deepEqual(allowedServerActions('running'), ['poweroff', 'reboot', 'terminate', 'update_information', 'destroy', 'reset_password']);
    assert.deepEqual(allowedServerActions('destroyed'), ['terminate', 'recover', 'purge']);
    assert.deepEqual(allowedServerActions('starting'), []);
    for (const state of ['stopped', 'starting', 'running', 'stopping', 'error', 'destroyed'] as const) {
      for (const action of allowedServerActions(state)) assert.doesNotThrow(() => startServerAction(state, action));
    }
  });

  it('destroys softly, and recovers and purges only what is destroyed', () => {
    assert.equal(startServerAction('running', 'destroy'), 'stopping');
    assert.equal(startServerAction('stopped', 'destroy'), 'stopping');
    assert.equal(startServerAction('destroyed', 'recover'), 'destroyed');
    assert.equal(startServerAction('destroyed', 'purge'), 'stopping');
    assert.equal(startServerAction('destroyed', 'terminate'), 'stopping');
    assert.equal(startServerAction('running', 'reset_password'), 'running');
    for (const [state, action] of [['destroyed', 'destroy'], ['stopped', 'recover'], ['running', 'purge'], ['stopped', 'reset_password'], ['destroyed', 'poweron'], ['destroyed', 'reset_password']] as const) {
      assert.throws(() => startServerAction(state, action), (error: unknown) => error instanceof InvalidState && error.current === state && error.resource === 'server');
    }
    assert.throws(() => startServerAction('stopped', 'recover'), (error: unknown) => error instanceof InvalidState && error.expected.join() === 'destroyed');
  });

  it("resolves Alpacon's action names and nothing unknown", () => {
    assert.equal(resolveServerAction('reboot_system'), 'reboot');
    assert.equal(resolveServerAction('shutdown_system'), 'poweroff');
    assert.equal(resolveServerAction('poweron'), 'poweron');
    assert.equal(resolveServerAction('upgrade_system'), null);
    assert.equal(resolveServerAction('toString'), null);
  });

  it('deletes stopped and destroyed servers, and changes volumes of stopped servers only', () => {
    assert.doesNotThrow(() => assertServerDeletable('stopped'));
    assert.doesNotThrow(() => assertServerDeletable('destroyed'));
    assert.throws(() => assertServerDeletable('running'), InvalidState);
    assert.doesNotThrow(() => assertServerAcceptsVolumeChanges('stopped'));
    assert.throws(() => assertServerAcceptsVolumeChanges('destroyed'), InvalidState);
    assert.throws(() => assertServerAcceptsVolumeChanges('starting'), InvalidState);
  });
});

describe('volume state rules', () => {
  it('allows each operation from its states only', () => {
    assert.equal(startVolumeOperation('available', 'attach'), 'in_use');
    assert.throws(() => startVolumeOperation('in_use', 'attach'), InvalidState);
    assert.equal(startVolumeOperation('in_use', 'detach'), 'in_use');
    assert.throws(() => startVolumeOperation('available', 'detach'), InvalidState);
    assert.equal(startVolumeOperation('in_use', 'resize'), 'resizing');
    assert.throws(() => startVolumeOperation('resizing', 'resize'), InvalidState);
    assert.equal(startVolumeOperation('available', 'delete'), 'deleting');
    assert.throws(() => startVolumeOperation('in_use', 'delete'), InvalidState);
    assert.equal(startVolumeOperation('in_use', 'snapshot'), 'in_use');
    assert.throws(() => startVolumeOperation('creating', 'snapshot'), InvalidState);
  });
});
