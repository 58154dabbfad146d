import assert from 'node:assert/strict';
import type { TestApp } from '../../../support/app.ts';

export const MIB = 1024 * 1024;
export const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';

/** Waits for a task and expects it to have succeeded; returns it. */
export async function waitForTask(app: TestApp, id: string, token?: string): Promise<any> {
  const res = await app.request({ method: 'GET', url: `/api/tasks/tasks/${id}/wait/?timeout=180`, token });
  assert.equal(res.statusCode, 200, res.body);
  const task = res.json();
  assert.equal(task.status, 'succeeded', `task ${task.type}: ${JSON.stringify(task.error)}`);
  return task;
}

/** A request expected to be accepted (201 with `task`, or 202 with the task); waits for that task. */
export async function accepted(app: TestApp, options: Parameters<TestApp['request']>[0]): Promise<any> {
  const res = await app.request(options);
  assert.ok(res.statusCode === 201 || res.statusCode === 202, `${options.method} ${options.url} -> ${res.statusCode} ${res.body}`);
  const body = res.json();
  await waitForTask(app, res.statusCode === 201 ? body.task : body.id, options.token ?? undefined);
  return body;
}

export async function get(app: TestApp, url: string, token?: string): Promise<any> {
  const res = await app.request({ method: 'GET', url, token });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** Runs a shell line in a server through the host; its output. */
export async function shell(app: TestApp, serverId: string, line: string): Promise<string> {
  let output = '';
  const result = await app.nimbus.services.compute.host.servers.exec(serverId, { line, onOutput: (chunk) => void (output += chunk) });
  assert.equal(result.exitCode, 0, `${line}: ${output}`);
  return output;
}

export async function action(app: TestApp, serverId: string, name: string) {
  return app.request({ method: 'POST', url: `/api/servers/servers/${serverId}/actions/`, payload: { action: name } });
}
