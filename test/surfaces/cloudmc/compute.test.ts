import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { cmcFactory, type Environment } from '../../support/cloudmc-client.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser } from '../../support/identity.ts';
import { BUILTIN_IMAGE, shell } from '../../surfaces/native/compute/support.ts';
import { apiKeyOf, cloudmc, COMPUTE_CONNECTION, onlyError } from './support.ts';

const skip = computeSkipReason();

/** A full instance lifecycle through the CloudMC surface, driven by the JS client's own request and task handling, on real runc. */
for (const database of testDatabases) {
  describe(`CloudMC compute through the services client [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let key: string;
    let strangerKey: string;
    let organization: string;
    let sandbox: Environment;
    let instance: string;
    let offerings: { id: string; name: string }[];

    before(async () => {
      app = await startComputeTestApp(database);
      organization = await addOrganization(app, 'Acme');
      key = await apiKeyOf(app, (await addUser(app, 'alice', { role: 'admin', organization })).session);
      strangerKey = await apiKeyOf(app, (await addUser(app, 'bob', { role: 'admin', organization: await addOrganization(app, 'Globex') })).session);
      for (const who of [key, strangerKey]) {
        const env = await cloudmc(app, who, 'POST', '/environments', { name: 'sandbox', serviceConnection: { id: COMPUTE_CONNECTION } });
        assert.equal(env.statusCode, 200, env.body);
      }
      await app.nimbus.http.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.nimbus.http.server.address() as AddressInfo;
      sandbox = cmcFactory(`http://127.0.0.1:${port}/compat/cloudmc/api/v2`, { apiKey: key, pollMs: 200 })('compute', 'sandbox');
    });
    after(async () => {
      await app?.close();
    });

    it('lists templates (Nimbus images) and compute offerings (Nimbus plans)', async () => {
      const templates = await sandbox.templates().list();
      assert.ok(templates.some((t: { id: string; availablePublicly: boolean }) => t.id === BUILTIN_IMAGE && t.availablePublicly), JSON.stringify(templates));
      offerings = await sandbox.computeofferings().list();
      assert.ok(offerings.some((o) => o.name === '1vCPU.128MB'));
      assert.ok((await sandbox.diskofferings().list()).some((o: { name: string }) => o.name === '1GB'));
    });

    it('creates an instance from a template and an offering, and follows its task until it runs', async () => {
      const offering = offerings.find((o) => o.name === '1vCPU.128MB')!;
      const created = await sandbox.instances().create(JSON.stringify({ name: 'web', templateId: BUILTIN_IMAGE, computeOfferingId: offering.id, networkId: '00000000-0000-4000-8000-000000000001' }));
      assert.equal(created.state, 'Running', JSON.stringify(created));
      assert.equal(created.computeOfferingId, offering.id);
      assert.equal(created.cpuCount, 1);
      assert.equal(created.memoryInMB, 128);
      assert.equal(created.templateId, BUILTIN_IMAGE);
      assert.equal(created.templateName, 'busybox');
      assert.match(created.ipAddress, /^10\.2\d\d\.\d+\.\d+$/);
      assert.ok(created.zoneId && created.zoneName);
      instance = created.id;
      const listed = await sandbox.instances().list();
      assert.deepEqual(listed.map((i: { id: string; state: string }) => [i.id, i.state]), [[instance, 'Running']]);
    });

    it('stops it, and refuses a second stop with the wrong-state error and its context', async () => {
      const before = await sandbox.instances().get(instance);
      assert.equal(before.state, 'Running');
      await sandbox.instances().stop(instance);
      assert.equal((await sandbox.instances().get(instance)).state, 'Stopped');
      const again = onlyError(await cloudmc(app, key, 'POST', `/services/compute/sandbox/instances/${instance}?operation=stop`), 400, 2012);
      assert.deepEqual(again.context, { id: instance, currentState: 'Stopped', expectedStates: ['Running', 'Error'], type: 'instances' });
      assert.equal((await sandbox.instances().get(instance)).state, 'Stopped');
    });

    it('changes its compute offering, name and host name, then starts and reboots it', async () => {
      const bigger = offerings.find((o) => o.name === '1vCPU.256MB')!;
      await sandbox.instances().changeComputeOffering(instance, JSON.stringify({ computeOfferingId: bigger.id }));
      const resized = await sandbox.instances().get(instance);
      assert.equal(resized.memoryInMB, 256);
      assert.equal(resized.computeOfferingName, '1vCPU.256MB');
      const renamed = await sandbox.instances().update(instance, JSON.stringify({ name: 'web-2', hostname: 'web2' }));
      assert.equal(renamed.name, 'web-2');
      assert.equal(renamed.hostname, 'web2');
      await sandbox.instances().start(instance);
      assert.equal((await sandbox.instances().get(instance)).state, 'Running');
      assert.equal((await shell(app, instance, 'hostname')).trim(), 'web2');
      const whileRunning = onlyError(await cloudmc(app, key, 'POST', `/services/compute/sandbox/instances/${instance}?operation=changeComputeOffering`, { computeOfferingId: bigger.id }), 400, 2012);
      assert.deepEqual(whileRunning.context.expectedStates, ['Stopped']);
      await sandbox.instances().reboot(instance);
      assert.equal((await sandbox.instances().get(instance)).state, 'Running');
    });

    it('makes a volume, attaches it, snapshots it, detaches it and deletes it', async () => {
      const disk = (await sandbox.diskofferings().list()).find((o: { name: string }) => o.name === '1GB');
      const volume = await sandbox.volumes().create(JSON.stringify({ name: 'data', diskOfferingId: disk.id }));
      assert.equal(volume.state, 'Ready', JSON.stringify(volume));
      assert.equal(volume.type, 'data');
      assert.equal(volume.sizeInGb, 1);
      const running = onlyError(await cloudmc(app, key, 'POST', `/services/compute/sandbox/volumes/${volume.id}?operation=attachToInstance`, { instanceId: instance }), 400, 2012);
      assert.deepEqual(running.context, { id: instance, currentState: 'Running', expectedStates: ['Stopped'], type: 'instances' });
      await sandbox.instances().stop(instance);
      await sandbox.volumes().attachToInstance(volume.id, JSON.stringify({ instanceId: instance }));
      const attached = await sandbox.volumes().get(volume.id);
      assert.equal(attached.instanceId, instance);
      assert.equal(attached.state, 'Attached');
      const ofInstance = (await cloudmc(app, key, 'GET', `/services/compute/sandbox/volumes?instance_id=${instance}&type=data`)).json();
      assert.deepEqual(ofInstance.data.map((v: { id: string }) => v.id), [volume.id]);
      assert.equal((await cloudmc(app, key, 'GET', '/services/compute/sandbox/volumes?type=os')).json().data[0].instanceId, instance);
      const deleteAttached = onlyError(await cloudmc(app, key, 'DELETE', `/services/compute/sandbox/volumes/${volume.id}`), 400, 2012);
      assert.equal(deleteAttached.context.type, 'volumes');
      const snapshot = await sandbox.volumes().createSnapshotFromVolume(volume.id, JSON.stringify({ name: 'nightly' }));
      assert.equal(snapshot.state, 'BackedUp', JSON.stringify(snapshot));
      assert.equal(snapshot.volumeId, volume.id);
      assert.deepEqual((await sandbox.snapshots().list()).map((s: { id: string }) => s.id), [snapshot.id]);
      await sandbox.volumes().detachFromInstance(volume.id);
      assert.equal((await sandbox.volumes().get(volume.id)).state, 'Ready');
      await sandbox.snapshots().delete(snapshot.id);
      await sandbox.volumes().delete(volume.id);
      onlyError(await cloudmc(app, key, 'GET', `/services/compute/sandbox/volumes/${volume.id}`), 404, 1020);
      // Made attached at once to a stopped instance, and detached for the rest of the lifecycle.
      const attachedAtOnce = await sandbox.volumes().create(JSON.stringify({ name: 'logs', sizeInGb: 1, instanceId: instance }));
      assert.equal(attachedAtOnce.state, 'Attached', JSON.stringify(attachedAtOnce));
      assert.equal(attachedAtOnce.instanceId, instance);
      await sandbox.volumes().detachFromInstance(attachedAtOnce.id);
    });

    it('refuses operations it does not have, and unknown ones, in its own shape', async () => {
      assert.match(onlyError(await cloudmc(app, key, 'POST', `/services/compute/sandbox/instances/${instance}?operation=purge`), 400, 1004).message, /purges/);
      onlyError(await cloudmc(app, key, 'POST', `/services/compute/sandbox/instances/${instance}?operation=explode`), 400, 1004);
      const badOffering = onlyError(await cloudmc(app, key, 'POST', '/services/compute/sandbox/instances', { name: 'x', templateId: BUILTIN_IMAGE, computeOfferingId: 'nope' }), 400, 1002);
      assert.equal(badOffering.context.field, 'computeOfferingId');
      const noTemplate = onlyError(await cloudmc(app, key, 'POST', '/services/compute/sandbox/instances', { name: 'x' }), 400, 1002);
      assert.equal(noTemplate.context.field, 'templateId');
      onlyError(await cloudmc(app, key, 'GET', '/services/compute/nowhere/instances'), 404, 1020);
      onlyError(await cloudmc(app, key, 'GET', '/services/storage/sandbox/instances'), 404, 1020);
      assert.equal((await sandbox.instances().list()).length, 1);
    });

    it("answers 404 for another organization's instances and volumes, through its own environment of the same name", async () => {
      for (const [method, path] of [
        ['GET', `/services/compute/sandbox/instances/${instance}`],
        ['PUT', `/services/compute/sandbox/instances/${instance}`],
        ['DELETE', `/services/compute/sandbox/instances/${instance}`],
        ['POST', `/services/compute/sandbox/instances/${instance}?operation=start`],
      ] as const) {
        onlyError(await cloudmc(app, strangerKey, method, path, method === 'PUT' ? { name: 'mine' } : undefined), 404, 1020);
      }
      assert.equal((await cloudmc(app, strangerKey, 'GET', '/services/compute/sandbox/instances')).json().metadata.recordCount, 0);
    });

    it('answers an exceeded quota with a 400 of its own code', async () => {
      const quota = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${organization}/quotas/`, payload: { servers: 1 } });
      assert.equal(quota.statusCode, 200, quota.body);
      const over = onlyError(await cloudmc(app, key, 'POST', '/services/compute/sandbox/instances', { name: 'second', templateId: BUILTIN_IMAGE }), 400, 1003);
      assert.deepEqual(over.context, { resource: 'servers', limit: 1 });
    });

    it('destroys the instance through its task', async () => {
      const destroyed = await sandbox.instances().delete(instance);
      assert.deepEqual(destroyed, { id: instance });
      assert.deepEqual(await sandbox.instances().list(), []);
      onlyError(await cloudmc(app, key, 'GET', `/services/compute/sandbox/instances/${instance}`), 404, 1020);
    });
  });
}
