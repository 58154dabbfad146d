import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesRegisteredRedirect, redirectUriProblem } from '../../../src/core/oauth/redirect-uris.ts';
import { ALL_PERMISSIONS } from '../../../src/core/iam/permissions.ts';
import { OAUTH_SCOPES, oauthPermissions, parseScopeString, SCOPE_NAMES } from '../../../src/core/oauth/scopes.ts';

describe('OAuth scopes', () => {
  it("are ComputeStacks' twelve, each described in plain words", () => {
    assert.deepEqual(SCOPE_NAMES, ['public', 'images_read', 'images_write', 'dns_read', 'dns_write', 'order_read', 'order_write', 'profile_read', 'profile_write', 'register', 'project_read', 'project_write']);
    for (const scope of SCOPE_NAMES) assert.match(OAUTH_SCOPES[scope].description, /^[A-Z].+\.$/);
  });

  it('map onto resource:action permissions', () => {
    assert.deepEqual(oauthPermissions(['dns_write']), ['dns_zone:read', 'dns_zone:write', 'dns_record:read', 'dns_record:write']);
    assert.deepEqual(oauthPermissions(['dns_write', 'dns_read']), ['dns_zone:read', 'dns_zone:write', 'dns_record:read', 'dns_record:write']);
    assert.deepEqual(oauthPermissions(['not_a_scope']), []);
    // No scope reaches identity administration, organizations or OAuth management.
    const everything = oauthPermissions(SCOPE_NAMES);
    for (const forbidden of ['organization:write', 'oauth_application:write', 'oauth_authorization:write', 'token:write']) assert.ok(!everything.includes(forbidden), forbidden);
  });

  it('stand for permissions that exist in the one permission vocabulary', () => {
    for (const scope of SCOPE_NAMES) {
      for (const permission of OAUTH_SCOPES[scope].permissions) assert.ok(ALL_PERMISSIONS.includes(permission as never), `${scope}: ${permission}`);
    }
  });

  it('parse a scope string into canonical order and report unknown names', () => {
    assert.deepEqual(parseScopeString('dns_read  public dns_read'), { scopes: ['public', 'dns_read'], unknown: [] });
    assert.deepEqual(parseScopeString('public root'), { scopes: ['public'], unknown: ['root'] });
  });
});

describe('redirect URIs', () => {
  it('accept https, loopback http and private-use schemes only', () => {
    for (const ok of ['https://a.example/cb', 'http://127.0.0.1/cb', 'http://[::1]:8080/cb', 'com.example.app:/cb']) assert.equal(redirectUriProblem(ok), null, ok);
    for (const bad of ['http://a.example/cb', 'http://localhost/cb', 'https://a.example/cb#x', 'javascript:alert(1)', 'data:text/html,x', 'myapp:/cb', 'cb']) assert.ok(redirectUriProblem(bad), bad);
  });

  it('match exactly, letting only the port vary on loopback http', () => {
    const registered = ['https://a.example/cb', 'http://127.0.0.1/cb', 'http://[::1]:9000/cb?x=1'];
    assert.ok(matchesRegisteredRedirect(registered, 'https://a.example/cb'));
    assert.ok(matchesRegisteredRedirect(registered, 'http://127.0.0.1:51000/cb'));
    assert.ok(matchesRegisteredRedirect(registered, 'http://[::1]:1234/cb?x=1'));
    for (const bad of ['https://a.example/cb/', 'https://a.example:443/cb?', 'https://A.example/cb', 'https://a.example/cb?y', 'http://127.0.0.1:51000/cb/', 'http://127.0.0.1:51000/CB', 'http://[::1]:1234/cb', 'http://localhost:51000/cb', 'https://127.0.0.1:51000/cb']) {
      assert.ok(!matchesRegisteredRedirect(registered, bad), bad);
    }
  });
});
