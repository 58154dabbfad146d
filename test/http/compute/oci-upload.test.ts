import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import type { ComputeConfig } from '../../../src/app.ts';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { accepted, get, MIB } from './support.ts';

const IMAGES = '/api/images/images/';
const SERVERS = '/api/servers/servers/';
const COMMANDS = '/api/events/commands/';
const skip = computeSkipReason();

/** Writes text files and (`{ link }`) symlinks under `dir`. */
function writeTree(dir: string, tree: Record<string, string | { link: string }>): void {
  for (const [name, content] of Object.entries(tree)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(file, content);
    else fs.symlinkSync(content.link, file);
  }
}

/**
 * An OCI image layout archive of two layers: busybox and `/removed` (gzipped), then a layer
 * whiting out `/removed` and adding `/added` (plain tar).
 */
async function ociArchive(work: string): Promise<Buffer> {
  const lower = path.join(work, 'lower');
  fs.mkdirSync(path.join(lower, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(lower, 'bin/busybox'));
  writeTree(lower, { 'bin/sh': { link: 'busybox' }, 'bin/cat': { link: 'busybox' }, 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n', removed: 'must be whited out\n' });
  const upper = path.join(work, 'upper');
  writeTree(upper, { '.wh.removed': '', added: 'added by the second layer\n' });

  const layout = path.join(work, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer | string) => {
    const digest = createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(layout, 'blobs/sha256', digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
  };
  const layerTars: Buffer[] = [];
  for (const dir of [lower, upper]) {
    await tar.c({ file: `${dir}.tar`, cwd: dir }, ['.']);
    layerTars.push(fs.readFileSync(`${dir}.tar`));
  }
  const layers = [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(layerTars[0])) },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...blob(layerTars[1]) },
  ];
  const diffIds = layerTars.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`);
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }));
  writeTree(layout, {
    'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }),
    'index.json': JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }] }),
  });
  const archive = path.join(work, 'image-oci.tar');
  await tar.c({ file: archive, cwd: layout }, ['oci-layout', 'index.json', 'blobs']);
  return fs.readFileSync(archive);
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
      const deadline = Date.now() + 60_000;
      let command = await get(app, `${COMMANDS}${id}/`);
      while (!['success', 'failed'].includes(command.status) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        command = await get(app, `${COMMANDS}${id}/`);
      }
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
