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

/** Whether the server's root password is `password`: its crypt hash, made again with the stored salt, matches. */
export async function rootPasswordIs(app: TestApp, serverId: string, password: string): Promise<boolean> {
  assert.match(password, /^[A-Za-z0-9]+$/, 'a password the check can put on a shell line');
  const line = [
    `entry=$(grep '^root:' /etc/passwd /etc/shadow 2>/dev/null | tail -n 1 | cut -d: -f3)`,
    `case $(echo "$entry" | cut -d'$' -f2) in 1) method=md5;; 5) method=sha256;; 6) method=sha512;; *) method=none;; esac`,
    `[ "$(mkpasswd -m $method -S "$(echo "$entry" | cut -d'$' -f3)" ${password})" = "$entry" ] && echo same || echo different`,
  ].join('\n');
  return (await shell(app, serverId, line)).trim() === 'same';
}
