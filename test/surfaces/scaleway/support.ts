import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../../support/app.ts';

export const PREFIX = '/compat/scaleway';

export interface ScalewayRequest {
  method?: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'OPTIONS';
  /** A path under the surface (`/servers`). */
  url: string;
  /** An account token (sent as X-Auth-Token); none by default. */
  token?: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

/** A request to the Scaleway surface, carrying its token the Scaleway way. */
export function scw(app: TestApp, { method = 'GET', url, token, payload, headers = {} }: ScalewayRequest): Promise<LightMyRequestResponse> {
  return app.request({
    method,
    url: `${PREFIX}${url}`,
    token: null,
    payload: payload as never,
    headers: { ...(token ? { 'x-auth-token': token } : {}), ...headers },
  });
}

/** A token for a user and password (`POST /tokens`); its id is what clients send. */
export async function accountToken(app: TestApp, username: string, password: string, expires = false): Promise<string> {
  const res = await scw(app, { method: 'POST', url: '/tokens', payload: { username, password, expires } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().token.id;
}

/** Asserts a Scaleway error body with its status and type; returns the body. */
export function assertScalewayError(res: LightMyRequestResponse, status: number, type: string): { type: string; message: string; fields?: Record<string, string[]> } {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.equal(body.type, type, res.body);
  assert.equal(typeof body.message, 'string');
  assert.deepEqual(Object.keys(body).filter((k) => !['type', 'message', 'fields'].includes(k)), [], res.body);
  return body;
}

/** Polls a Scaleway task until it ends; returns it. */
export async function followTask(app: TestApp, token: string, id: string): Promise<{ status: string; [key: string]: unknown }> {
  for (let i = 0; i < 600; i++) {
    const res = await scw(app, { url: `/tasks/${id}`, token });
    assert.equal(res.statusCode, 200, res.body);
    const { task } = res.json();
    if (task.status === 'success' || task.status === 'failure') return task;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`task ${id} did not end`);
}
