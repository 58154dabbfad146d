import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ComputeRejected, type ServerSpec } from '../../../src/backends/compute-host.ts';
import { BackendFixture, MiB, SKIP_REASON } from './fixture.ts';

/** Fails with `what` when `work` takes longer than `ms` (a hang on a tenant's file must fail the test, not stall it). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The mount options of the mount at `mountPoint`, from this process's mountinfo. */
function mountOptions(mountPoint: string): string[] {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((entry) => entry.split(' ')[4] === mountPoint);
  assert.ok(line, `${mountPoint} is mounted`);
  const fields = line.split(' ');
  return [...fields[5].split(','), ...fields[fields.indexOf('-') + 3].split(',')];
}

describe('runc host: files a server controls', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let server: ServerSpec;

  before(async () => {
    fixture = new BackendFixture();
    server = await fixture.server({ network: fixture.network(), hostNumber: 10, hostname: 'hostile', memoryBytes: 64 * MiB });
    await fixture.host.servers.start(server);
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('mounts the server\'s filesystems nodev (volumes nosuid too), so a device node it makes opens nothing', async () => {
    assert.ok(mountOptions(path.join(fixture.root, 'servers', server.id, 'rootfs')).includes('nodev'));
    const volume = mountOptions(path.join(fixture.root, 'mounts', server.rootVolumeId));
    assert.ok(volume.includes('nodev') && volume.includes('nosuid'), volume.join(','));
    const inside = await fixture.exec(server.id, 'mknod /root/mem c 1 1 && head -c 1 /root/mem; echo "exit $?"');
    assert.match(inside.output, /Permission denied|Operation not permitted/);
  });

  it('reads /etc/passwd, /etc/group and os-release only when they are regular files, never blocking on a FIFO', async () => {
    const setup = await fixture.exec(
      server.id,
      [
        'cp /etc/passwd /root/passwd && cp /etc/group /root/group',
        'rm -f /etc/passwd /etc/group /etc/os-release /usr/lib/os-release',
        // A device node cannot be made: root in the server's user namespace may not mknod.
        '! mknod /etc/os-release c 1 5',
        'mkfifo /etc/passwd /etc/group /etc/os-release',
        'mkdir -p /usr/lib && dd if=/dev/zero of=/usr/lib/os-release bs=1M count=3 2>/dev/null',
      ].join(' && '),
    );
    assert.equal(setup.exitCode, 0, setup.output);
    // More commands at once than Node has thread-pool threads: a blocking open of a FIFO would
    // hold them all. Each is refused at once (runc itself would hang on the FIFO).
    const refusals = await within(
      30_000,
      'commands on a server with FIFOs for /etc/passwd',
      Promise.allSettled(Array.from({ length: 8 }, () => fixture.exec(server.id, 'echo ok'))),
    );
    for (const refusal of refusals) {
      assert.equal(refusal.status, 'rejected');
      assert.ok(refusal.reason instanceof ComputeRejected && /\/etc\/passwd is not a regular file/.test(refusal.reason.message), String(refusal.reason));
    }
    const facts = await within(30_000, 'facts of a server with a FIFO for os-release', fixture.host.servers.facts(server.id));
    assert.equal(facts.os.name, 'Linux');
    // The thread pool is still free for everything else.
    await within(2000, 'a file operation of the host', stat(fixture.root));

    // Back to regular files, put in the stopped server's writable layer (its own commands are refused now).
    await fixture.host.servers.stop(server.id, { timeoutMs: 5000 });
    const volume = path.join(fixture.root, 'volume-' + server.rootVolumeId);
    mkdirSync(volume);
    execFileSync('mount', ['-o', 'loop', path.join(fixture.root, 'volumes', `${server.rootVolumeId}.img`), volume]);
    try {
      for (const name of ['passwd', 'group']) {
        rmSync(path.join(volume, 'upper/etc', name));
        copyFileSync(path.join(volume, 'upper/root', name), path.join(volume, 'upper/etc', name));
      }
    } finally {
      execFileSync('umount', [volume]);
      rmdirSync(volume);
    }
    await fixture.host.servers.start(server);
    assert.equal((await fixture.exec(server.id, 'id -un', { username: 'nimbus' })).output, 'nimbus\n');
  });

  it('keeps what the server writes to its init\'s output, /etc/hosts or /etc/hostname off the host\'s disk', async () => {
    const consoleLog = path.join(fixture.root, 'servers', server.id, 'console.log');
    const before = statSync(consoleLog).size;
    const written = await fixture.exec(server.id, 'dd if=/dev/zero of=/proc/1/fd/1 bs=1M count=2 2>&1; dd if=/dev/zero of=/etc/hosts bs=1M count=2 2>&1; echo done');
    assert.match(written.output, /done/);
    await sleep(100);
    assert.equal(statSync(consoleLog).size, before);
    // /etc/hosts lives on the root volume, which the server's own disk quota bounds.
    assert.equal(statSync(path.join(fixture.root, 'mounts', server.rootVolumeId, 'etc', 'hosts')).size, 2 * MiB);
  });
});
