import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { api, processDatabases, startServer } from '../support/server-process.ts';

for (const { name, open, skip } of processDatabases) {
  describe(`nimbus serve on a host that cannot run servers [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('still serves, and every compute request says how to fix the host, changing nothing', async () => {
      const database = await open();
      cleanups.push(() => database.cleanup());
      const computeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-no-runc-'));
      cleanups.push(() => fs.rmSync(computeDir, { recursive: true, force: true }));
      const server = await startServer({ ...database.env, NIMBUS_COMPUTE_DIR: computeDir, NIMBUS_RUNC: '/nonexistent/runc' });
      cleanups.push(() => server.kill());
      const { token } = database;

      assert.equal((await api(server, token, 'GET', '/api/status/')).status, 200);
      const refusals = [
        await api(server, token, 'POST', '/api/servers/servers/', { name: 'web', start: true }),
        await api(server, token, 'POST', '/api/storage/volumes/', { name: 'data', size: 64 * 1024 * 1024 }),
      ];
      for (const refused of refusals) {
        assert.equal(refused.status, 503, JSON.stringify(refused.json));
        assert.equal(refused.json.code, 'compute_unavailable');
        assert.match(refused.json.detail, /install runc \(apt-get install runc\)/);
      }
      // Nothing was written: no server, no volume, no task.
      assert.equal((await api(server, token, 'GET', '/api/servers/servers/')).json.count, 0);
      assert.equal((await api(server, token, 'GET', '/api/storage/volumes/')).json.count, 0);
      assert.equal((await api(server, token, 'GET', '/api/tasks/tasks/')).json.count, 0);
      await server.kill('SIGTERM');
    });
  });
}
