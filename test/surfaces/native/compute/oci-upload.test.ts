import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ComputeConfig } from '../../../../src/app.ts';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { busyboxTree, ociLayout, writeTree } from '../../../support/oci.ts';
import { accepted, get, MIB } from './support.ts';

const IMAGES = '/api/images/images/';
const SERVERS = '/api/servers/servers/';
const COMMANDS = '/api/events/commands/';
const skip = computeSkipReason();

/**
 * An OCI image layout archive of two layers: busybox and `/removed` (gzipped), then a layer
 * whiting out `/removed` and adding `/added` (plain tar).
 */
async function ociArchive(work: string): Promise<Buffer> {
  const lower = path.join(work, 'lower');
  busyboxTree(lower);
  writeTree(lower, { removed: 'must be whited out\n' });
  const upper = path.join(work, 'upper');
  writeTree(upper, { '.wh.removed': '', added: 'added by the second layer\n' });
  return fs.readFileSync((await ociLayout(work, lower, upper)).archive);
}

for (const database of testDatabases) {
  describe(`OCI image layout uploads [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let work: string;

    before(async () => {
      app = await startComputeTestApp(database);
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-oci-upload-'));
    });
    after(async () => {
      if (work) fs.rmSync(work, { recursive: true, force: true });
      await app?.close();
    });

    const upload = (name: string, body: Buffer) => app.request({ method: 'POST', url: `${IMAGES}upload/?name=${name}`, payload: body, headers: { 'content-type': 'application/x-tar' } });
    // The app keeps the whole configuration it was made with, the test's compute root included.
    const computeDir = () => {
      const dir = (app.nimbus.config as Partial<ComputeConfig>).computeDir;
      assert.ok(dir, 'a compute test app has a compute root');
      return dir;
    };

    it('imports the layers in order with whiteouts honoured, and a server boots from it', async () => {
      const created = await accepted(app, { method: 'POST', url: `${IMAGES}upload/?name=layered`, payload: await ociArchive(work), headers: { 'content-type': 'application/x-tar' } });
      const image = await get(app, `${IMAGES}${created.id}/`);
      assert.equal(image.status, 'ready', image.error);
      assert.equal(image.arch, 'amd64');
      assert.ok(image.size > 0);

      const server = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: 'layered', image: created.id, memory: 64 * MIB, start: true } });
      assert.equal((await get(app, `${SERVERS}${server.id}/`)).state, 'running');
      const res = await app.request({ method: 'POST', url: COMMANDS, payload: { shell: 'system', line: 'cat /added; test ! -e /removed && echo gone', server: server.id } });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json()[0].id;
      const command = await eventually(
        'the command to finish',
        async () => {
          const command = await get(app, `${COMMANDS}${id}/`);
          return ['success', 'failed'].includes(command.status) ? command : undefined;
        },
        60_000,
      );
      assert.equal(command.status, 'success', JSON.stringify(command));
      const chunks = await get(app, `${COMMANDS}${id}/chunks/?ordering=seq&page_size=100`);
      const output = chunks.results.map((c: { content: string }) => c.content).join('');
      assert.equal(output, 'added by the second layer\ngone\n');
      assert.equal(command.result, output);
    });

    it('fails the import of a corrupt archive with a clear error, leaving nothing for it', async () => {
      const res = await upload('corrupt', Buffer.from('this is not an OCI image layout, nor any tar at all\n'.repeat(64)));
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      const waited = await app.request({ method: 'GET', url: `/api/tasks/tasks/${created.task}/wait/?timeout=180` });
      assert.equal(waited.statusCode, 200, waited.body);
      const task = waited.json();
      assert.equal(task.status, 'failed', JSON.stringify(task));
      const image = await get(app, `${IMAGES}${created.id}/`);
      assert.equal(image.status, 'error');
      assert.match(image.error, /not a readable tar archive/);
      assert.equal(task.error.code, 'compute_rejected', JSON.stringify(task.error));
      assert.equal(task.error.message, image.error);
      assert.equal(fs.existsSync(path.join(computeDir(), 'images', created.id)), false);
      assert.deepEqual(fs.readdirSync(path.join(computeDir(), 'staging')), []);
      assert.deepEqual(fs.readdirSync(`${computeDir()}-uploads`), [], 'the uploaded file is removed');
    });
  });
}
