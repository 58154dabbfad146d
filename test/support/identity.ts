import assert from 'node:assert/strict';
import type { Actor } from '../../src/core/actor.ts';
import type { TestApp } from './app.ts';

/** A password every validator accepts. */
export const GOOD_PASSWORD = 'violet-tugboat-41';

export interface TestUser {
  id: string;
  username: string;
  /** A login session token of the user. */
  session: string;
}

/** Creates an organization (under the acting one unless `parent` says otherwise). */
export async function addOrganization(app: TestApp, name: string, options: { parent?: string; token?: string } = {}): Promise<string> {
  const res = await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name, ...(options.parent ? { parent: options.parent } : {}) }, token: options.token });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

/** Creates a user with a role in its organization, and logs it in. */
export async function addUser(app: TestApp, username: string, options: { role?: string; organization?: string; token?: string } = {}): Promise<TestUser> {
  const res = await app.request({
    method: 'POST',
    url: '/api/iam/users/',
    payload: { username, password: GOOD_PASSWORD, role: options.role ?? 'member', ...(options.organization ? { organization: options.organization } : {}) },
    token: options.token,
  });
  assert.equal(res.statusCode, 201, res.body);
  return { id: res.json().id, username, session: await login(app, username, GOOD_PASSWORD) };
}

export async function login(app: TestApp, username: string, password: string): Promise<string> {
  const res = await app.request({ method: 'POST', url: '/api/auth/login/', payload: { username, password }, token: null });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().token;
}

/** A personal API token with the given scopes, created by the holder of `token`. */
export async function addToken(app: TestApp, token: string, scopes: string[] = ['*'], extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: `t-${scopes.join(',')}`, scopes, ...extra }, token });
  assert.equal(res.statusCode, 201, res.body);
  return { id: res.json().id, key: res.json().key };
}

export const basic = (username: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
export const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

/** The actor a presented token acts as in its own organization, for tests that call core services directly. */
export async function actorFor(app: TestApp, secret: string): Promise<Actor> {
  const { tokens, access } = app.nimbus.services;
  const principal = await tokens.authenticate(secret);
  return { principal, ...(await access.actingContext(principal)), requestId: 'test', clientAddress: '192.0.2.1' };
}
