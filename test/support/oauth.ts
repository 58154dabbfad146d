import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';

export const REDIRECT_URI = 'https://client.example/callback';

export interface RegisteredApplication {
  id: string;
  client_id: string;
  client_secret: string | null;
  redirect_uris: string[];
  scopes: string[];
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function registerApplication(app: TestApp, body: Record<string, unknown> = {}): Promise<RegisteredApplication> {
  const res = await app.request({
    method: 'POST',
    url: '/api/oauth/applications/',
    payload: { name: 'Test client', redirect_uris: [REDIRECT_URI], scopes: ['public', 'profile_read', 'dns_read', 'dns_write'], ...body },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** A form post the way a browser sends one. */
export function formPost(app: TestApp, url: string, params: Record<string, string | undefined>, headers: Record<string, string> = {}, options: Partial<InjectOptions> = {}) {
  const body = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return app.request({ ...options, method: 'POST', url, token: null, payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

export function authorizeQuery(params: Record<string, string | undefined>): string {
  return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
}

/** The cookies a response sets, as a `Cookie` header value. */
export function cookiesOf(res: LightMyRequestResponse): string {
  const set = res.headers['set-cookie'];
  return (Array.isArray(set) ? set : set ? [set] : []).map((c) => c.split(';')[0]).join('; ');
}

export function csrfTokenOf(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the consent page carries a CSRF token');
  return match[1]!;
}

export interface ConsentInput {
  client_id: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  decision?: 'approve' | 'deny';
  username?: string;
  password?: string;
  /** The browser's address, as the server sees it. */
  remoteAddress?: string;
}

/**
 * Drives the consent page over HTTP: loads it (for its CSRF cookie and token), then posts the
 * form. Returns the form post's response.
 */
export async function submitConsent(app: TestApp, input: ConsentInput): Promise<LightMyRequestResponse> {
  const { decision = 'approve', username = 'admin', password = app.adminPassword, remoteAddress = '127.0.0.1', ...rest } = input;
  const params = { response_type: 'code', redirect_uri: REDIRECT_URI, ...rest };
  const page = await app.request({ method: 'GET', url: `/api/oauth/authorize?${authorizeQuery(params)}`, token: null, remoteAddress });
  assert.equal(page.statusCode, 200, page.body);
  return formPost(app, '/api/oauth/authorize', { ...params, csrf_token: csrfTokenOf(page.body), decision, username, password }, { cookie: cookiesOf(page) }, { remoteAddress });
}

/** The query parameters of a redirect response's Location. */
export function redirectParams(res: LightMyRequestResponse): URLSearchParams {
  assert.ok(res.statusCode === 302 || res.statusCode === 303, `expected a redirect, got ${res.statusCode}: ${res.body}`);
  return new URL(String(res.headers.location)).searchParams;
}

/** Approves a request and returns the code. */
export async function obtainCode(app: TestApp, input: ConsentInput): Promise<string> {
  const code = redirectParams(await submitConsent(app, input)).get('code');
  assert.ok(code, 'the redirect carries a code');
  return code;
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A token-endpoint request, authenticating a confidential client with HTTP Basic. */
export function tokenRequest(app: TestApp, client: RegisteredApplication | null, params: Record<string, string | undefined>, url = '/api/oauth/token') {
  return formPost(app, url, params, client?.client_secret ? { authorization: basicAuth(client.client_id, client.client_secret) } : {});
}

/** A full authorization-code exchange with PKCE; returns the token response body. */
export async function authorizationCodeTokens(app: TestApp, client: RegisteredApplication, scope = 'profile_read dns_read') {
  const { verifier, challenge } = pkcePair();
  const code = await obtainCode(app, { client_id: client.client_id, scope, code_challenge: challenge, code_challenge_method: 'S256' });
  const res = await tokenRequest(app, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { access_token: string; refresh_token: string; expires_in: number; scope: string; token_type: string };
}
