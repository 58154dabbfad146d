import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AppHost } from '../../../src/backends/app-host.ts';
import { ComputeRejected } from '../../../src/backends/compute-host.ts';
import { createRuncAppHost } from '../../../src/backends/apps/index.ts';
import { createRuncHosts } from '../../../src/backends/runc/index.ts';
import { sampleArchive } from '../../support/sample-app.ts';
import { BackendFixture, MiB, SKIP_REASON } from '../runc/fixture.ts';

const LIMITS = { unpackedBytes: 64 * MiB, entries: 10_000 };

describe('the runc apps host', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let apps: AppHost;
  let dir: string;
  const archive = async (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  before(() => {
    fixture = new BackendFixture();
    apps = createRuncAppHost(createRuncHosts({ root: fixture.root }).parts);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-apps-host-'));
  });
  after(async () => {
    await apps?.sweep({ processes: new Set(), slugs: new Set() });
    await fixture?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the Procfile and the start script of an archive, under a top directory too', async () => {
    const facts = await apps.inspectSource(await archive('a.tar.gz', await sampleArchive({ prefix: 'sample-1.0' })), LIMITS);
    assert.match(facts.procfile ?? '', /^web: node server.js/);
    assert.equal(facts.startScript, 'node server.js');
  });

  it('refuses what is not an archive, a path leaving the app, and archives past the limits', async () => {
    const notArchive = await archive('n.tar.gz', Buffer.from('this is not an archive at all, just some text\n'.repeat(20)));
    await assert.rejects(apps.inspectSource(notArchive, LIMITS), (error: Error) => error instanceof ComputeRejected && /not a readable tar archive/.test(error.message));
    const escape = await archive('e.tar', tarWithPath('../escape.txt'));
    await assert.rejects(apps.inspectSource(escape, LIMITS), /path outside the app: "\.\.\/escape\.txt"/);
    const big = await archive('b.tar.gz', await sampleArchive({ extra: { 'big.bin': 'x'.repeat(2 * MiB) } }));
    await assert.rejects(apps.inspectSource(big, { unpackedBytes: MiB, entries: 100 }), /unpacks to more than/);
  });

  it('builds in a container without network, promotes the slug and runs a process reachable on its network', async () => {
    const id = randomUUID();
    let output = '';
    const built = await apps.build({ id, archivePath: await archive('ok.tar.gz', await sampleArchive({ build: 'ok' })), stack: 'nodejs', env: {}, limits: { memoryBytes: 512 * MiB, cpu: 1 }, onOutput: (text) => void (output += text) }, LIMITS);
    assert.equal(built.exitCode, 0, output);
    assert.match(output, /npm ci/);
    assert.match(output, /npm run build/);
    const slug = randomUUID();
    await apps.promote(id, slug);
    // No network inside a build: only a loopback.
    let probe = '';
    const run = await apps.run({ id: randomUUID(), slugId: slug, command: 'echo $(cat built.txt); id -u; ip -o link | wc -l', env: {}, limits: { memoryBytes: 128 * MiB, cpu: 0.5 }, onOutput: (text) => void (probe += text) });
    assert.equal(run.exitCode, 0, probe);
    assert.deepEqual(probe.trim().split('\n').slice(0, 3), ['built', '1000', '1']);

    const network = fixture.network();
    const processId = randomUUID();
    const address = network.gateway.replace(/\.1$/, '.20');
    await apps.processes.start({ id: processId, slugId: slug, command: 'node server.js', env: { PORT: '5000', VERSION: 'v9' }, limits: { memoryBytes: 128 * MiB, cpu: 0.5 }, network, address });
    let body: { version: string; built: string } | undefined;
    for (let attempt = 0; attempt < 100 && !body; attempt++) {
      body = await fetch(`http://${address}:5000/`).then((r) => r.json() as Promise<{ version: string; built: string }>).catch(() => undefined);
      if (!body) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual([body?.version, body?.built], ['v9', 'built']);
    assert.match((await apps.processes.readOutput(processId, 0)).text, /listening on 5000/);
    await apps.processes.stop(processId, { timeoutMs: 5000 });
    assert.equal(await apps.processes.running(processId), false);
  });

  it('reports a failing build by its exit code and output', async () => {
    let output = '';
    const built = await apps.build({ id: randomUUID(), archivePath: await archive('fail.tar.gz', await sampleArchive({ build: 'fail' })), stack: 'nodejs', env: {}, limits: { memoryBytes: 512 * MiB, cpu: 1 }, onOutput: (text) => void (output += text) }, LIMITS);
    assert.notEqual(built.exitCode, 0);
    assert.match(output, /failing on purpose/);
  });
});

/** A one-file tar whose entry path is given as it is (tar writers refuse `..`, so the header is made here). */
function tarWithPath(name: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write('00000000005\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(512);
  body.write('hello');
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}
