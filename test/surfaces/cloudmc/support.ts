import assert from 'node:assert/strict';
import type { TestApp } from '../../support/app.ts';

export const CLOUDMC = '/compat/cloudmc/api/v2';
export const COMPUTE_CONNECTION = '00000000-0000-4000-8000-00000000c0de';

/** A user's API key, generated through the native API with the user's session. */
export async function apiKeyOf(app: TestApp, session: string): Promise<string> {
  const res = await app.request({ method: 'POST', url: '/api/auth/api-key/', token: session });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().key;
}

/** A request to the CloudMC surface with `MC-Api-Key` (none when `key` is null). */
export function cloudmc(app: TestApp, key: string | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown) {
  return app.nimbus.http.inject({
    method,
    url: `${CLOUDMC}${path}`,
    headers: { ...(key ? { 'mc-api-key': key } : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** The one error of an error answer, checked to have CloudMC's shape. */
export function onlyError(res: { statusCode: number; body: string; json(): any }, status: number, code: number) {
  assert.equal(res.statusCode, status, res.body);
  const { errors, ...rest } = res.json();
  assert.deepEqual(rest, {}, 'an error answer holds only `errors`');
  assert.ok(Array.isArray(errors) && errors.length >= 1, res.body);
  const [first] = errors;
  assert.deepEqual(Object.keys(first).sort(), ['code', 'context', 'errorCode', 'message']);
  assert.equal(first.code, code, res.body);
  assert.equal(first.errorCode, String(code));
  assert.equal(typeof first.message, 'string');
  return first as { code: number; errorCode: string; message: string; context: Record<string, unknown> };
}
