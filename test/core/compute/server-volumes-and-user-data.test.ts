import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../../../src/core/actor.ts';
import { InvalidState, NotFound, QuotaExceeded, ValidationFailed } from '../../../src/core/errors.ts';
import { USER_DATA_LIMITS } from '../../../src/core/compute/user-data-service.ts';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { actorFor, addOrganization, addUser } from '../../support/identity.ts';
import { MIB, waitForTask } from '../../surfaces/native/compute/support.ts';

const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`servers created with volumes, terminated with them, and user data [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let admin: Actor;
    let stranger: Actor;
    before(async () => {
      app = await startComputeTestApp(database);
      admin = await actorFor(app, app.token);
      stranger = await actorFor(app, (await addUser(app, 'stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') })).session);
    });
    after(async () => {
      await app?.close();
    });

    const compute = () => app.nimbus.services.compute;
    const volumeFile = (id: string) => path.join(app.computeDir!, 'volumes', `${id}.img`);
    async function availableVolume(name: string, actor = admin): Promise<string> {
      const { volume, task } = await compute().volumes.create(actor, { name, size_bytes: 32 * MIB });
      await waitForTask(app, task.id);
      return volume.id;
    }

    let server: string;
    let existing: string;
    let made: string;

    it('creates a server with an existing volume and a new one attached, in one step', async () => {
      existing = await availableVolume('kept');
      const { server: created, task } = await compute().servers.create(admin, {
        name: 'with-volumes',
        memory_bytes: 64 * MIB,
        volumes: [
          { volume_id: existing, mount_path: '/mnt/a' },
          { name: 'fresh', size_bytes: 32 * MIB, mount_path: '/mnt/b' },
        ],
      });
      server = created.id;
      assert.ok(existsSync(volumeFile(existing)));
      assert.deepEqual(created.volumes.map((v) => v.mount_path), ['/mnt/a', '/mnt/b']);
      made = created.volumes.find((v) => v.mount_path === '/mnt/b')!.id;
      assert.equal((await compute().volumes.get(admin, made)).state, 'creating');
      await waitForTask(app, task.id);
      assert.equal((await compute().volumes.get(admin, made)).state, 'in_use');
      assert.equal((await compute().volumes.get(admin, existing)).server_id, server);
    });

    it('refuses volumes that are missing, busy, foreign or repeated, and creates nothing', async () => {
      const count = async () => (await app.nimbus.store.db.selectFrom('servers').select('id').execute()).length;
      const before = await count();
      const missing = '3f1e1a52-8a0e-4c8f-9d0e-6a5c3e2b1a00';
      await assert.rejects(compute().servers.create(admin, { name: 'x', volumes: [{ volume_id: missing, mount_path: '/mnt/a' }] }), (e: unknown) => e instanceof ValidationFailed && 'volumes.0.volume_id' in e.fields);
      await assert.rejects(compute().servers.create(admin, { name: 'x', volumes: [{ volume_id: existing, mount_path: '/mnt/a' }] }), InvalidState);
      const theirs = await availableVolume('theirs', stranger);
      await assert.rejects(compute().servers.create(admin, { name: 'x', volumes: [{ volume_id: theirs, mount_path: '/mnt/a' }] }), (e: unknown) => e instanceof ValidationFailed && 'volumes.0.volume_id' in e.fields);
      await assert.rejects(
        compute().servers.create(admin, { name: 'x', volumes: [{ name: 'a', size_bytes: 32 * MIB, mount_path: '/mnt/a' }, { name: 'b', size_bytes: 32 * MIB, mount_path: '/mnt/a' }] }),
        (e: unknown) => e instanceof ValidationFailed && 'volumes.1.mount_path' in e.fields,
      );
      await assert.rejects(compute().servers.create(admin, { name: 'x', volumes: [{ name: 'a', size_bytes: 1, mount_path: '/etc' }] }), (e: unknown) => e instanceof ValidationFailed && 'volumes.0.size_bytes' in e.fields && 'volumes.0.mount_path' in e.fields);
      assert.equal(await count(), before);
    });

    it("counts a create's new volumes toward the organization's quotas", async () => {
      const res = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${admin.organizationId}/quotas/`, payload: { volumes: 2 } });
      assert.equal(res.statusCode, 200, res.body);
      try {
        await assert.rejects(compute().servers.create(admin, { name: 'over', volumes: [{ name: 'one-more', size_bytes: 32 * MIB, mount_path: '/mnt/a' }] }), QuotaExceeded);
      } finally {
        await app.request({ method: 'PATCH', url: `/api/iam/organizations/${admin.organizationId}/quotas/`, payload: { volumes: null } });
      }
    });

    it('keeps user data per server: bytes in, bytes out, within limits', async () => {
      const { userData } = compute();
      const script = Buffer.from('#!/bin/sh\necho hello\n\u0000\u00ff', 'latin1');
      await userData.set(admin, server, 'cloud-init', script);
      await userData.set(admin, server, 'empty', Buffer.alloc(0));
      assert.deepEqual(await userData.keys(admin, server), ['cloud-init', 'empty']);
      assert.deepEqual(await userData.get(admin, server, 'cloud-init'), script);
      await userData.set(admin, server, 'cloud-init', Buffer.from('replaced'));
      assert.equal((await userData.get(admin, server, 'cloud-init')).toString(), 'replaced');
      await assert.rejects(userData.set(admin, server, '../etc', Buffer.from('x')), (e: unknown) => e instanceof ValidationFailed && 'key' in e.fields);
      await assert.rejects(userData.set(admin, server, 'big', Buffer.alloc(USER_DATA_LIMITS.valueBytes + 1)), (e: unknown) => e instanceof ValidationFailed && 'value' in e.fields);
      await userData.remove(admin, server, 'empty');
      await assert.rejects(userData.get(admin, server, 'empty'), NotFound);
      await assert.rejects(userData.remove(admin, server, 'empty'), NotFound);
      // Another organization's server is not there at all.
      await assert.rejects(userData.keys(stranger, server), NotFound);
      await assert.rejects(userData.set(stranger, server, 'x', Buffer.from('x')), NotFound);
    });

    it('holds at most so many keys per server', async () => {
      const { userData } = compute();
      const have = (await userData.keys(admin, server)).length;
      for (let i = have; i < USER_DATA_LIMITS.keys; i++) await userData.set(admin, server, `k${i}`, Buffer.from('v'));
      await assert.rejects(userData.set(admin, server, 'one-too-many', Buffer.from('v')), QuotaExceeded);
      await userData.set(admin, server, 'k63', Buffer.from('a key that exists is replaced'));
    });

    it('terminates with its data volumes deleted when asked, leaving nothing of them', async () => {
      const task = await compute().servers.act(admin, server, 'terminate', { deleteVolumes: true });
      await waitForTask(app, task.id);
      await assert.rejects(compute().servers.get(admin, server), NotFound);
      for (const id of [existing, made]) {
        await assert.rejects(compute().volumes.get(admin, id), NotFound);
        assert.ok(!existsSync(volumeFile(id)), `${id} is still on the host`);
      }
      const left = await app.nimbus.store.db.selectFrom('server_user_data').select('key').where('server_id', '=', server).execute();
      assert.deepEqual(left, []);
    });

    it('terminates without the option leaving data volumes detached and available', async () => {
      const kept = await availableVolume('stays');
      const { server: created, task } = await compute().servers.create(admin, { name: 'plain', memory_bytes: 64 * MIB, volumes: [{ volume_id: kept, mount_path: '/data' }] });
      await waitForTask(app, task.id);
      await waitForTask(app, (await compute().servers.act(admin, created.id, 'terminate')).id);
      const volume = await compute().volumes.get(admin, kept);
      assert.equal(volume.server_id, null);
      assert.equal(volume.state, 'available');
    });
  });
}
