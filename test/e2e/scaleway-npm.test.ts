import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../support/compute.ts';
import { testDatabases } from '../support/databases.ts';
import { hostLeftovers } from '../support/host-leftovers.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../support/identity.ts';
import { BUILTIN_IMAGE } from '../surfaces/native/compute/support.ts';
import { PREFIX } from '../surfaces/scaleway/support.ts';

/** End to end with Scaleway's legacy Node.js client (npm `scaleway` 0.8) over a real listener and real runc servers. */

interface Response {
  status: number;
  body: any;
  headers: Record<string, string>;
}
interface ScalewayClient {
  get(path: string): Promise<Response>;
  post(path: string, input: unknown): Promise<Response>;
  request(path: string, method: string, input?: unknown): Promise<Response>;
  createVolume(data: { organization: string; name: string; size: number }): Promise<Response>;
  createServer(data: { organization: string; name: string; image: string; volumes: string[] }): Promise<Response>;
}
const Api = createRequire(import.meta.url)('scaleway') as new (options: { api_endpoint: string; token?: string }) => ScalewayClient;

const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`the npm scaleway client [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let endpoint: string;
    before(async () => {
      app = await startComputeTestApp(database);
      const organization = await addOrganization(app, 'Legacy Ltd');
      const user = await addUser(app, 'legacy-user', { role: 'owner', organization });
      const res = await app.request({ method: 'PATCH', url: `/api/iam/users/${user.id}/`, payload: { email: 'ops@legacy.example' } });
      assert.equal(res.statusCode, 200, res.body);
      const address = await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 });
      // The client needs the trailing slash.
      endpoint = `${address}${PREFIX}/`;
    });
    after(async () => {
      await app?.close();
    });

    async function followTask(client: ScalewayClient, id: string): Promise<{ status: string }> {
      for (let i = 0; i < 600; i++) {
        const { task } = (await client.get(`/tasks/${id}`)).body;
        if (task.status === 'success' || task.status === 'failure') return task;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`task ${id} did not end`);
    }

    it('logs in, makes a volume and a server using it, powers it on, is refused a wrong-state action, terminates, and leaves nothing on the host', async () => {
      const anonymous = new Api({ api_endpoint: endpoint });
      const login = await anonymous.post('/tokens', { email: 'ops@legacy.example', password: GOOD_PASSWORD, expires: false });
      assert.equal(login.status, 201);
      const client = new Api({ api_endpoint: endpoint, token: login.body.token.id });

      const { organizations } = (await client.get('/organizations')).body;
      const organization = organizations.find((o: { name: string }) => o.name === 'Legacy Ltd').id;
      assert.ok(organizations.find((o: { id: string }) => o.id === organization).users.some((u: { email: string }) => u.email === 'ops@legacy.example'));

      const volume = (await client.createVolume({ organization, name: 'data', size: 50_000_000 })).body.volume;
      assert.equal(volume.volume_type, 'l_ssd');
      for (let i = 0; i < 300 && (await client.get(`/volumes/${volume.id}`)).body.volume.state !== 'available'; i++) await new Promise((r) => setTimeout(r, 100));

      const created = await client.createServer({ organization, name: 'legacy-web', image: BUILTIN_IMAGE, volumes: [volume.id] });
      assert.equal(created.status, 201);
      const server = created.body.server;
      assert.equal(server.volumes['1'].id, volume.id);

      const head = await client.request('/servers', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['x-total-count'], '1');

      const poweron = await client.post(`/servers/${server.id}/action`, { action: 'poweron' });
      assert.equal(poweron.status, 202);
      assert.equal((await followTask(client, poweron.body.task.id)).status, 'success');
      assert.equal((await client.get(`/servers/${server.id}`)).body.server.state, 'running');

      const refused = await client.post(`/servers/${server.id}/action`, { action: 'poweron' }).then(
        () => assert.fail('a second poweron must be refused'),
        (error: { status: number; body: { type: string; message: string } }) => error,
      );
      assert.equal(refused.status, 400);
      assert.deepEqual(refused.body, { type: 'invalid_request_error', message: 'server should be stopped' });

      const terminate = await client.post(`/servers/${server.id}/action`, { action: 'terminate' });
      assert.equal((await followTask(client, terminate.body.task.id)).status, 'success');
      assert.equal((await client.request('/servers', 'HEAD')).headers['x-total-count'], '0');
      assert.equal((await client.request('/volumes', 'HEAD')).headers['x-total-count'], '0');

      const root = app.computeDir!;
      // Spares (never-used volumes and image copies made ahead for the next server) and the apps router's files stay while Nimbus runs.
      assert.deepEqual(hostLeftovers(root, { servers: [server.id] }, ['images', 'networks', 'spares', 'router']), []);
      for (const folder of ['volumes', 'servers']) {
        const inside = path.join(root, folder);
        assert.deepEqual(existsSync(inside) ? readdirSync(inside) : [], [], `${folder} left on the host`);
      }
    });
  });
}
