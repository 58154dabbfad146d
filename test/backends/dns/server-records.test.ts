import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addZone, dig, digSkipReason, freeDnsPort } from '../../support/dns.ts';
import { accepted, action, MIB, waitForTask } from '../../surfaces/native/compute/support.ts';

const skip = computeSkipReason() ?? (await digSkipReason());

for (const database of testDatabases) {
  describe(`records of servers' private addresses [${database.name}]`, { skip: skip || false }, () => {
    let app: TestApp;
    let port: number;
    before(async () => {
      port = await freeDnsPort();
      app = await startComputeTestApp(database, { dns: { dnsPort: port } });
    });
    after(async () => {
      await app?.close();
    });

    it('follow the servers of the zone’s organization as they come and go', async () => {
      const zone = await addZone(app, 'servers.internal', [{ name: 'taken', type: 'CNAME', hostname: 'elsewhere.example.' }], { server_records: true });
      const server = await accepted(app, { method: 'POST', url: '/api/servers/servers/', payload: { name: 'db', memory: 64 * MIB, root_volume_size: 64 * MIB } });
      await waitForTask(app, server.task);
      const answer = await dig(port, 'db.servers.internal', 'A');
      assert.deepEqual(answer.answer.map((r) => r.data), [server.private_ip]);
      const detail = (await app.request({ method: 'GET', url: `/api/dns/zones/${zone}/` })).json();
      const kept = detail.records.A.find((r: { name: string }) => r.name === 'db');
      assert.equal(kept.server, server.id);
      const change = await app.request({ method: 'DELETE', url: `/api/dns/zones/${zone}/records/${kept.id}/` });
      assert.equal(change.statusCode, 409);
      assert.equal(change.json().code, 'managed_record');
      // A server whose name a user's CNAME holds gets no record there.
      const taken = await accepted(app, { method: 'POST', url: '/api/servers/servers/', payload: { name: 'taken', memory: 64 * MIB, root_volume_size: 64 * MIB } });
      await waitForTask(app, taken.task);
      assert.deepEqual((await dig(port, 'taken.servers.internal', 'A')).answer.map((r) => r.type), ['CNAME']);

      for (const id of [server.id, taken.id]) {
        const terminated = await action(app, id, 'terminate');
        assert.equal(terminated.statusCode, 202, terminated.body);
        await waitForTask(app, terminated.json().id);
      }
      assert.equal((await dig(port, 'db.servers.internal', 'A')).status, 'NXDOMAIN');
      const off = await app.request({ method: 'PATCH', url: `/api/dns/zones/${zone}/`, payload: { server_records: false } });
      assert.equal(off.statusCode, 200);
    });
  });
}
