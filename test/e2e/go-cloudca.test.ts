import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../support/compute.ts';
import { testDatabases } from '../support/databases.ts';
import { addOrganization, addUser } from '../support/identity.ts';
import { BUILTIN_IMAGE } from '../surfaces/native/compute/support.ts';
import { apiKeyOf, cloudmc, COMPUTE_CONNECTION } from '../surfaces/cloudmc/support.ts';

/**
 * go-cloudca (the cloud.ca Go client, from the Go module proxy) against the CloudMC surface:
 * test/e2e/go-cloudca/main.go lists environments and offerings, creates an instance (polling
 * its task), stops it twice (the second a wrong-state error), starts, purges and destroys it.
 */
const DRIVER = path.join(import.meta.dirname, 'go-cloudca');
const skip = computeSkipReason() ?? (spawnSync('go', ['version']).status === 0 ? null : 'the go-cloudca test needs Go (https://go.dev/dl/ or apt-get install golang)');

for (const database of testDatabases) {
  describe(`go-cloudca against the CloudMC surface [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let binary: string;
    let steps: Map<string, { value: any; error?: string; status?: number; errors?: { errorCode: string; message: string; context: Record<string, unknown> }[] }>;

    before(async () => {
      const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-go-cloudca-'));
      binary = path.join(buildDir, 'driver');
      const build = spawnSync('go', ['build', '-o', binary, '.'], { cwd: DRIVER, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
      assert.equal(build.status, 0, build.stderr);
      app = await startComputeTestApp(database);
      const organization = await addOrganization(app, 'Gophers');
      const key = await apiKeyOf(app, (await addUser(app, 'gopher', { role: 'admin', organization })).session);
      assert.equal((await cloudmc(app, key, 'POST', '/environments', { name: 'sandbox', serviceConnection: { id: COMPUTE_CONNECTION } })).statusCode, 200);
      await app.nimbus.http.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.nimbus.http.server.address() as AddressInfo;
      // Asynchronously: the server answering the driver runs in this process.
      const run = await promisify(execFile)(binary, [], {
        timeout: 600_000,
        env: { ...process.env, CLOUDMC_URL: `http://127.0.0.1:${port}/compat/cloudmc/api/v2`, CLOUDMC_KEY: key, CLOUDMC_ENVIRONMENT: 'sandbox', CLOUDMC_TEMPLATE: BUILTIN_IMAGE },
      });
      steps = new Map(run.stdout.trim().split('\n').map((line) => { const parsed = JSON.parse(line); return [parsed.step, parsed]; }));
      fs.rmSync(buildDir, { recursive: true, force: true });
    });
    after(async () => {
      await app?.close();
    });

    const step = (name: string) => {
      const found = steps.get(name);
      assert.ok(found, `go-cloudca printed no "${name}" step`);
      return found;
    };

    it('reads environments, service connections, offerings and templates', () => {
      assert.deepEqual(step('environments').value.map((e: { name: string }) => e.name), ['sandbox']);
      assert.equal(step('environments').value[0].serviceConnection.serviceCode, 'compute');
      assert.deepEqual(step('serviceConnections').value, [{ id: COMPUTE_CONNECTION, name: 'Nimbus compute', serviceCode: 'compute' }]);
      assert.ok(step('computeOfferings').value.some((o: { name: string; memoryInMB: number }) => o.name === '1vCPU.128MB' && o.memoryInMB === 128));
      assert.ok(step('templates').value.some((t: { id: string }) => t.id === BUILTIN_IMAGE));
    });

    it('creates an instance and gets it from the task result, running', () => {
      const created = step('create');
      assert.equal(created.error, undefined);
      assert.equal(created.value.state, 'Running');
      assert.equal(created.value.name, 'go-web');
      assert.equal(created.value.cpuCount, 1);
    });

    it('stops it, and reads the second stop as an error with its code and context', () => {
      assert.equal(step('stop').error, undefined);
      const again = step('stopAgain');
      assert.equal(again.status, 400);
      assert.equal(again.errors![0]!.errorCode, '2012');
      assert.deepEqual(again.errors![0]!.context, { id: step('create').value.id, currentState: 'Stopped', expectedStates: ['Running', 'Error'], type: 'instances' });
      assert.equal(step('get').value.state, 'Stopped');
    });

    it('starts, refuses purge with its own code, destroys, and then finds nothing', () => {
      assert.equal(step('start').error, undefined);
      assert.deepEqual(step('list').value.map((i: { state: string }) => i.state), ['Running']);
      assert.equal(step('purge').errors![0]!.errorCode, '1004');
      assert.equal(step('destroy').error, undefined);
      assert.equal(step('exists').value, false);
      assert.equal(step('exists').error, undefined);
    });
  });
}
