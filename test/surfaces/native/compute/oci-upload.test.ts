import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import type { ComputeConfig } from '../../../../src/app.ts';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { busyboxTree, ociLayout, writeTree } from '../../../support/oci.ts';
import { addOrganization, addUser } from '../../../support/identity.ts';
import { accepted, get, MIB } from './support.ts';

const IMAGES = '/api/images/images/';
const SERVERS = '/api/servers/servers/';
const COMMANDS = '/api/events/commands/';
const skip = computeSkipReason();

/** Bytes of the files under `dir` (what an image of it unpacks to, near enough). */
function statSizeOf(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const stat = fs.lstatSync(path.join(entry.parentPath ?? entry.path, entry.name));
    if (!stat.isDirectory()) total += stat.size;
  }
  return total;
}

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

    /** Uploads as `token` and waits for the import to end; the task and the image as they ended. */
    async function importAs(token: string, name: string, body: Buffer) {
      const res = await app.request({ method: 'POST', url: `${IMAGES}upload/?name=${name}`, payload: body, headers: { 'content-type': 'application/x-tar' }, token });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      const waited = await app.request({ method: 'GET', url: `/api/tasks/tasks/${created.task}/wait/?timeout=180`, token });
      return { task: waited.json(), image: await get(app, `${IMAGES}${created.id}/`, token) };
    }

    /** Nothing of an import that failed is left on the host: image, staging or upload. */
    function assertNothingLeft(imageId: string): void {
      assert.equal(fs.existsSync(path.join(computeDir(), 'images', imageId)), false);
      assert.deepEqual(fs.readdirSync(path.join(computeDir(), 'staging')), []);
      assert.deepEqual(fs.readdirSync(`${computeDir()}-uploads`), []);
    }

    it('counts image bytes in the organization\'s image_bytes quota, stopping an import that would pass it', async () => {
      const organization = await addOrganization(app, 'Image quota');
      const tenant = await addUser(app, 'image-quota-admin', { role: 'admin', organization });
      const tree = path.join(work, 'quota-tree');
      busyboxTree(tree);
      const archive = path.join(work, 'quota.tar');
      await tar.c({ file: archive, cwd: tree }, ['.']);
      const body = fs.readFileSync(archive);

      const setQuota = async (imageBytes: number) => {
        const res = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${organization}/quotas/`, payload: { image_bytes: imageBytes } });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().image_bytes, imageBytes);
      };
      await setQuota(100_000);
      const refused = await importAs(tenant.session, 'too-big', body);
      assert.equal(refused.task.status, 'failed', JSON.stringify(refused.task));
      assert.equal(refused.task.error.code, 'compute_rejected');
      assert.match(refused.image.error, /more than 100000 bytes, what is left of its organization's image quota/);
      assertNothingLeft(refused.image.id);

      await setQuota(Math.round(1.5 * statSizeOf(tree)));
      const first = await importAs(tenant.session, 'fits', body);
      assert.equal(first.image.status, 'ready', first.image.error);
      // What is left is less than a second copy.
      const second = await importAs(tenant.session, 'second', body);
      assert.equal(second.image.status, 'error');
      assert.match(second.image.error, /image quota/);
      assertNothingLeft(second.image.id);
      assert.ok(fs.existsSync(path.join(computeDir(), 'images', first.image.id)));
    });

    it('refuses a layout with symlinked metadata, saying so without host paths or host file content', async () => {
      const secret = path.join(work, 'secret.json');
      fs.writeFileSync(secret, '{"manifests": [], "token": "host-only-4b1d"}');
      const layout = path.join(work, 'linked-layout');
      writeTree(layout, { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': { link: secret } });
      const archive = path.join(work, 'linked.tar');
      await tar.c({ file: archive, cwd: layout }, ['oci-layout', 'index.json']);
      const { task, image } = await importAs(app.token, 'linked', fs.readFileSync(archive));
      assert.equal(task.status, 'failed');
      assert.equal(image.error, 'OCI image layout: index.json is a symbolic link');
      for (const leak of ['host-only-4b1d', work, computeDir()]) assert.ok(!JSON.stringify(task).includes(leak), `the task names ${leak}`);
      assertNothingLeft(image.id);
    });
  });
}
