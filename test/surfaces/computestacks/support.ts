import assert from 'node:assert/strict';
import type { TestApp } from '../../support/app.ts';
import { basic, type TestUser } from '../../support/identity.ts';
import { formPost, REDIRECT_URI, type RegisteredApplication } from '../../support/oauth.ts';

export const COMPUTESTACKS = '/compat/computestacks';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** An OAuth access token (Bearer), an API credential pair (Basic), or nothing. */
export type Credential = string | { username: string; password: string } | null;

function authorization(credential: Credential): Record<string, string> {
  if (credential === null) return {};
  if (typeof credential === 'string') return { authorization: `Bearer ${credential}` };
  return basic(credential.username, credential.password);
}

/** A request to the ComputeStacks surface on the main listener, as its clients send it. */
export function computestacks(app: TestApp, credential: Credential, method: Method, path: string, payload?: unknown, headers: Record<string, string> = {}) {
  return app.nimbus.http.inject({
    method,
    url: `${COMPUTESTACKS}${path}`,
    headers: { accept: 'application/json', ...authorization(credential), ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** A new API credential pair for a user (the native route), which replaces the user's previous one. */
export async function apiCredentials(app: TestApp, user: TestUser | null = null): Promise<{ username: string; password: string }> {
  const res = await app.request({ method: 'POST', url: '/api/auth/credentials/', payload: {}, ...(user ? { token: user.session } : {}) });
  assert.equal(res.statusCode, 201, res.body);
  const { username, password } = res.json();
  return { username, password };
}

/** An OAuth application that may ask for every ComputeStacks scope. */
export async function oauthClient(app: TestApp): Promise<RegisteredApplication> {
  const res = await app.request({
    method: 'POST',
    url: '/api/oauth/applications/',
    payload: {
      name: 'ComputeStacks client',
      redirect_uris: [REDIRECT_URI],
      scopes: ['public', 'images_read', 'images_write', 'dns_read', 'dns_write', 'order_read', 'order_write', 'profile_read', 'profile_write', 'register', 'project_read', 'project_write'],
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** `POST /api/oauth/token` of this surface, the client authenticating with Basic. */
export function oauthToken(app: TestApp, client: RegisteredApplication, params: Record<string, string>) {
  const secret = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  return formPost(app, `${COMPUTESTACKS}/api/oauth/token`, params, { authorization: `Basic ${secret}` });
}

/** An access token from the password grant with a user's API credentials, for the given scopes. */
export async function passwordGrantToken(app: TestApp, client: RegisteredApplication, pair: { username: string; password: string }, scope: string): Promise<string> {
  const res = await oauthToken(app, client, { grant_type: 'password', username: pair.username, password: pair.password, scope });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().access_token;
}

/** Turns the password grant on for the organization of the holder of `token` (the bootstrap admin's unless given). */
export async function allowPasswordGrant(app: TestApp, token?: string): Promise<void> {
  const res = await app.request({ method: 'PATCH', url: '/api/oauth/settings/', payload: { password_grant: true }, token });
  assert.equal(res.statusCode, 200, res.body);
}

/** An error answer: exactly `{"errors": [strings]}` with the status. */
export function errorsOf(res: { statusCode: number; body: string; json(): any }, status: number): string[] {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.deepEqual(Object.keys(body), ['errors'], res.body);
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0 && body.errors.every((e: unknown) => typeof e === 'string'), res.body);
  return body.errors;
}
