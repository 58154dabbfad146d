import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization } from '../../../support/identity.ts';
import { accepted, action, MIB, waitForTask } from './support.ts';

const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`compute resources and their organization [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    before(async () => {
      app = await startComputeTestApp(database);
    });
    after(async () => {
      await app?.close();
    });

    const seenFrom = async (org: string, url: string) => (await app.request({ method: 'GET', url: `${url}?org_id=${org}` })).json().results.map((r: { id: string }) => r.id);

    it('move with a moved organization, and keep it from being deleted until they are gone', async () => {
      const team = await addOrganization(app, 'Team');
      const first = await addOrganization(app, 'First home');
      const second = await addOrganization(app, 'Second home');
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/organizations/${team}/`, payload: { parent: first } })).statusCode, 200);
      const server = await accepted(app, { method: 'POST', url: `/api/servers/servers/?org_id=${team}`, payload: { name: 'db', memory: 64 * MIB, root_volume_size: 64 * MIB } });
      const volume = await accepted(app, { method: 'POST', url: `/api/storage/volumes/?org_id=${team}`, payload: { name: 'data', size: 16 * MIB } });

      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/organizations/${team}/`, payload: { parent: second } })).statusCode, 200);
      assert.deepEqual(await seenFrom(second, '/api/servers/servers/'), [server.id]);
      assert.deepEqual(await seenFrom(team, '/api/servers/servers/'), [server.id]);
      assert.deepEqual(await seenFrom(first, '/api/servers/servers/'), []);
      assert.deepEqual((await seenFrom(second, '/api/storage/volumes/')).sort(), [server.root_volume, volume.id].sort());
      assert.deepEqual(await seenFrom(first, '/api/storage/volumes/'), []);

      const refused = await app.request({ method: 'DELETE', url: `/api/iam/organizations/${team}/` });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().code, 'organization_has_resources');
      assert.match(refused.json().detail, /1 server\(s\), 2 volume\(s\)/);

      const terminated = await action(app, server.id, 'terminate');
      assert.equal(terminated.statusCode, 202, terminated.body);
      await waitForTask(app, terminated.json().id);
      const deleted = await app.request({ method: 'DELETE', url: `/api/storage/volumes/${volume.id}/` });
      assert.equal(deleted.statusCode, 202, deleted.body);
      await waitForTask(app, deleted.json().id);
      // Its private network was recorded when its first server came: it goes with it.
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/organizations/${team}/` })).statusCode, 204);
      const networks = await app.nimbus.store.db.selectFrom('networks').select('id').where('organization_id', '=', team).execute();
      assert.deepEqual(networks, []);
    });
  });
}
