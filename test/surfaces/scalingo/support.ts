import assert from 'node:assert/strict';
import type { TestApp } from '../../support/app.ts';
import { addOrganization, addUser, basic, GOOD_PASSWORD } from '../../support/identity.ts';

export const SCALINGO = '/compat/scalingo';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `Authorization` for a credential: a JWT or token as a Bearer, or a Basic pair. */
export type Credential = string | { username: string; password: string } | null;

function authorization(credential: Credential): Record<string, string> {
  if (credential === null) return {};
  if (typeof credential === 'string') return { authorization: `Bearer ${credential}` };
  return basic(credential.username, credential.password);
}

/** A request to the Scalingo surface on the main listener. */
export function scalingo(app: TestApp, credential: Credential, method: Method, path: string, payload?: unknown) {
  return app.nimbus.http.inject({
    method,
    url: `${SCALINGO}${path}`,
    headers: { ...authorization(credential), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** A request without a credential to an absolute URL the surface gave (a source's upload or download URL, a logs URL), as the clients make it. */
export function viaLink(app: TestApp, url: string, method: 'GET' | 'PUT' = 'GET', payload?: Buffer) {
  const { pathname, search } = new URL(url);
  return app.nimbus.http.inject({ method, url: pathname + search, ...(payload ? { payload, headers: { 'content-type': 'application/x-gzip' } } : {}) });
}

/** A Scalingo token (`tk-us-…`) for a user, made with the user's password as `scalingo login` does. */
export async function scalingoToken(app: TestApp, username: string, password: string, name = 'cli'): Promise<string> {
  const res = await scalingo(app, { username, password }, 'POST', '/v1/tokens', { token: { name } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().token.token;
}

/** The one-hour bearer a token exchanges for. */
export async function exchange(app: TestApp, token: string): Promise<string> {
  const res = await scalingo(app, { username: '', password: token }, 'POST', '/v1/tokens/exchange');
  assert.equal(res.statusCode, 200, res.body);
  return res.json().token;
}

/** An error answer, checked to be `{"error": "..."}` alone (plus `url` on a 402). */
export function plainError(res: { statusCode: number; body: string; json(): any }, status: number): string {
  assert.equal(res.statusCode, status, res.body);
  const { error, ...rest } = res.json();
  assert.equal(typeof error, 'string', res.body);
  assert.deepEqual(Object.keys(rest), status === 402 ? ['url'] : [], res.body);
  return error;
}

export function notFound(res: { statusCode: number; body: string; json(): any }, resource: string): void {
  assert.equal(res.statusCode, 404, res.body);
  assert.deepEqual(res.json(), { resource, error: 'not found' });
}

export function invalid(res: { statusCode: number; body: string; json(): any }): Record<string, string[]> {
  assert.equal(res.statusCode, 422, res.body);
  const { errors, ...rest } = res.json();
  assert.deepEqual(rest, {}, res.body);
  for (const messages of Object.values(errors)) assert.ok(Array.isArray(messages) && messages.every((m) => typeof m === 'string'), res.body);
  return errors;
}

export const ISO_WITH_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Two organizations and the signed-in users these tests act as, each holding the JWT its token
 * exchanges for, as the Scalingo CLI does: alice, admin of Acme; victor, a viewer of Acme; bob,
 * admin of Globex; carol, a member of Globex with an email address to be invited by.
 */
export async function acmeAndGlobex(app: TestApp): Promise<Record<'alice' | 'victor' | 'bob' | 'carol', string>> {
  const acme = await addOrganization(app, 'Acme');
  const globex = await addOrganization(app, 'Globex');
  const alice = await addUser(app, 'alice', { role: 'admin', organization: acme });
  await addUser(app, 'victor', { role: 'viewer', token: alice.session });
  await addUser(app, 'bob', { role: 'admin', organization: globex });
  const carol = await addUser(app, 'carol', { role: 'member', organization: globex });
  assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${carol.id}/`, payload: { email: 'carol@example.com' } })).statusCode, 200);
  const signIn = async (username: string) => exchange(app, await scalingoToken(app, username, GOOD_PASSWORD));
  return { alice: await signIn('alice'), victor: await signIn('victor'), bob: await signIn('bob'), carol: await signIn('carol') };
}
