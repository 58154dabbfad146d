import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../../support/identity.ts';
import { accepted, get, MIB } from './support.ts';

const SERVERS = '/api/servers/servers/';
const VOLUMES = '/api/storage/volumes/';
const IMAGES = '/api/images/images/';
const skip = computeSkipReason();

/** A small root filesystem archive made here: busybox and its shell. */
function rootfsArchive(): { file: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-rootfs-'));
  fs.mkdirSync(path.join(dir, 'root/bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'root/bin/busybox'));
  fs.symlinkSync('busybox', path.join(dir, 'root/bin/sh'));
  const file = path.join(dir, 'rootfs.tar.gz');
  execFileSync('tar', ['-C', path.join(dir, 'root'), '-czf', file, '.']);
  return { file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

for (const database of testDatabases) {
  describe(`compute quotas, bad input and images [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let tenant: TestUser;
    let organization: string;

    before(async () => {
      app = await startComputeTestApp(database);
      organization = await addOrganization(app, 'Limited');
      tenant = await addUser(app, 'limited-admin', { role: 'admin', organization });
    });
    after(async () => {
      await app?.close();
    });

    const setQuotas = async (quotas: Record<string, number | null>) => {
      const res = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${organization}/quotas/`, payload: quotas });
      assert.equal(res.statusCode, 200, res.body);
    };
    const nothingCreated = async () => {
      assert.equal((await get(app, SERVERS, tenant.session)).count, 0);
      assert.equal((await get(app, VOLUMES, tenant.session)).count, 0);
    };

    it("refuses what passes a quota with quota_exceeded, creating nothing, in the organization and anywhere below it", async () => {
      // The tenant's admin makes an unlimited sub-organization: the parent's limits hold there too.
      const child = await addOrganization(app, 'Limited Child', { parent: organization, token: tenant.session });
      for (const [quota, payload, url] of [
        [{ servers: 0 }, { name: 'one' }, SERVERS],
        [{ vcpus: 1 }, { name: 'two', vcpus: 2 }, SERVERS],
        [{ memory_bytes: 64 * MIB }, { name: 'three', memory: 128 * MIB }, SERVERS],
        [{ volume_bytes: 512 * MIB }, { name: 'four' }, SERVERS],
        [{ volume_bytes: 512 * MIB }, { name: 'big', size: 1024 * MIB }, VOLUMES],
        [{ volumes: 0 }, { name: 'none', size: 32 * MIB }, VOLUMES],
      ] as const) {
        await setQuotas(quota);
        for (const where of ['', `?org_id=${child}`]) {
          const res = await app.request({ method: 'POST', url: `${url}${where}`, payload, token: tenant.session });
          assert.equal(res.statusCode, 403, `${JSON.stringify(quota)}${where}: ${res.body}`);
          assert.equal(res.json().code, 'quota_exceeded');
          assert.equal(res.json().resource, Object.keys(quota)[0]);
        }
        await setQuotas(Object.fromEntries(Object.keys(quota).map((k) => [k, null])));
      }
      await nothingCreated();
    });

    it('answers bad plans, images and sizes with field errors, creating nothing', async () => {
      for (const [payload, field, url] of [
        [{ name: 'x', image: '00000000-0000-4000-8000-000000000000' }, 'image', SERVERS],
        [{ name: 'x', image: 'not-an-id' }, 'image', SERVERS],
        [{ name: 'x', vcpus: 17 }, 'vcpus', SERVERS],
        [{ name: 'x', vcpus: 0 }, 'vcpus', SERVERS],
        [{ name: 'x', memory: 1024 }, 'memory', SERVERS],
        [{ name: 'x', hostname: '-bad-' }, 'hostname', SERVERS],
        [{ name: '' }, 'name', SERVERS],
        [{ name: 'x', size: 1 }, 'size', VOLUMES],
        [{ name: 'x' }, 'size', VOLUMES],
        [{ name: 'x', snapshot: '00000000-0000-4000-8000-000000000000' }, 'snapshot', VOLUMES],
      ] as const) {
        const res = await app.request({ method: 'POST', url, payload, token: tenant.session });
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
        assert.ok(Array.isArray(res.json()[field]), `${JSON.stringify(payload)}: ${res.body}`);
      }
      await nothingCreated();
    });

    it('imports an uploaded root filesystem archive, refuses other media types, and deletes the image', async () => {
      const archive = rootfsArchive();
      try {
        const body = fs.readFileSync(archive.file);
        const json = await app.request({ method: 'POST', url: `${IMAGES}upload/?name=mine`, payload: {}, token: tenant.session });
        assert.equal(json.statusCode, 415, json.body);
        const nameless = await app.request({ method: 'POST', url: `${IMAGES}upload/`, payload: body, headers: { 'content-type': 'application/gzip' }, token: tenant.session });
        assert.equal(nameless.statusCode, 400, nameless.body);
        const created = await accepted(app, { method: 'POST', url: `${IMAGES}upload/?name=mine`, payload: body, headers: { 'content-type': 'application/gzip' }, token: tenant.session });
        assert.equal(created.source, 'upload');
        const image = await get(app, `${IMAGES}${created.id}/`, tenant.session);
        assert.equal(image.status, 'ready', image.error);
        assert.ok(image.size > 0);
        assert.equal(image.public, false);
        assert.equal((await app.request({ method: 'GET', url: `${IMAGES}${created.id}/`, token: (await addUser(app, 'outsider', { role: 'admin', organization: await addOrganization(app, 'Outside') })).session })).statusCode, 404);
        await accepted(app, { method: 'DELETE', url: `${IMAGES}${created.id}/`, token: tenant.session });
        assert.equal((await app.request({ method: 'GET', url: `${IMAGES}${created.id}/`, token: tenant.session })).statusCode, 404);
      } finally {
        archive.dispose();
      }
      const builtin = await app.request({ method: 'DELETE', url: `${IMAGES}00000000-0000-4000-8000-0000000b0500/`, token: tenant.session });
      assert.equal(builtin.statusCode, 409, builtin.body);
    });

    it('makes an image from a root volume snapshot', async () => {
      const server = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: 'source', memory: 32 * MIB }, token: tenant.session });
      const snapshot = await accepted(app, { method: 'POST', url: '/api/storage/snapshots/', payload: { name: 'root', volume: server.root_volume }, token: tenant.session });
      assert.equal(snapshot.base_image, server.image);
      const asVolume = await app.request({ method: 'POST', url: VOLUMES, payload: { name: 'x', snapshot: snapshot.id }, token: tenant.session });
      assert.equal(asVolume.statusCode, 400, asVolume.body);
      const image = await accepted(app, { method: 'POST', url: IMAGES, payload: { name: 'from-root', snapshot: snapshot.id }, token: tenant.session });
      assert.equal((await get(app, `${IMAGES}${image.id}/`, tenant.session)).status, 'ready');
      await accepted(app, { method: 'DELETE', url: `${SERVERS}${server.id}/`, token: tenant.session });
      assert.equal((await app.request({ method: 'GET', url: `${SERVERS}${server.id}/`, token: tenant.session })).statusCode, 404);
    });
  });
}
