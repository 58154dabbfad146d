import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllowed, type Actor } from '../../../src/core/actor.ts';
import { PermissionDenied } from '../../../src/core/errors.ts';
import { ALL_PERMISSIONS, expandScopes, intersect, isValidScope } from '../../../src/core/iam/permissions.ts';
import { permissionsOfRoles, ROLES } from '../../../src/core/iam/roles.ts';

describe('permissions, roles and scopes', () => {
  it('validates scopes against the vocabulary', () => {
    for (const scope of ['*', 'server:read', 'server:*', '*:read', 'role:assign_owner', 'command:create', 'server:delete', 'websh:create', 'member:list', '*:create']) assert.ok(isValidScope(scope), scope);
    for (const scope of ['', 'server', 'server:launch', 'websh:launch', 'nothing:read', '*:*', 'server:read:x', 'user:assign_owner']) assert.ok(!isValidScope(scope), scope);
  });

  it('expands wildcards', () => {
    assert.equal(expandScopes(['*']).size, ALL_PERMISSIONS.length);
    assert.deepEqual([...expandScopes(['server:*'])].sort(), ['server:read', 'server:register', 'server:write']);
    const reads = expandScopes(['*:read']);
    assert.ok(reads.has('audit:read') && !reads.has('server:write'));
  });

  it("reads Alpacon's scope vocabulary as Nimbus's permissions", () => {
    assert.deepEqual([...expandScopes(['command:create'])].sort(), ['command:read', 'command:write']);
    assert.deepEqual([...expandScopes(['server:list'])], ['server:read']);
    assert.deepEqual([...expandScopes(['websh:*', 'member:delete'])].sort(), ['command:read', 'command:write', 'membership:read', 'membership:write']);
    assert.ok(expandScopes(['*:create']).has('user:write'));
    assert.ok(!expandScopes(['server:read', 'command:create']).has('server:write'));
  });

  it('gives the built-in roles what the design says', () => {
    assert.ok(ROLES.owner!.permissions.has('role:assign_owner'));
    assert.ok(!ROLES.admin!.permissions.has('role:assign_owner') && ROLES.admin!.permissions.has('user:write'));
    assert.ok(ROLES.member!.permissions.has('server:write') && ROLES.member!.permissions.has('user:read') && !ROLES.member!.permissions.has('user:write'));
    assert.ok([...ROLES.viewer!.permissions].every((p) => p.endsWith(':read')));
  });

  it("intersects a role with a token's scopes", () => {
    const effective = intersect(permissionsOfRoles(['member']), expandScopes(['server:*', 'user:write']));
    assert.deepEqual([...effective].sort(), ['server:read', 'server:write']);
  });

  it('tells a scope denial from a role denial', () => {
    const actor = (scopes: string[], role: string): Actor => ({
      principal: { userId: 'u', username: 'u', organizationId: 'o', organizationPath: '/o/', isSuperuser: false, isStaff: false, credentialId: 'c', credentialKind: 'personal', scopes },
      organizationId: 'o',
      organizationPath: '/o/',
      permissions: intersect(permissionsOfRoles([role]), expandScopes(scopes)),
      requestId: 'r',
      clientAddress: '127.0.0.1',
    });
    assert.doesNotThrow(() => assertAllowed(actor(['*'], 'member'), 'server:write'));
    assert.throws(() => assertAllowed(actor(['server:read'], 'member'), 'server:write'), (e: PermissionDenied) => e.code === 'api_token_acl_not_allowed');
    assert.throws(() => assertAllowed(actor(['*'], 'viewer'), 'server:write'), (e: PermissionDenied) => e.code === 'permission_denied');
  });
});
