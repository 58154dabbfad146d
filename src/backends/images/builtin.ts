import { chmod, chown, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../command.ts';

/** Debian's busybox-static: one static binary, so the image needs no libraries. */
export const HOST_BUSYBOX = '/bin/busybox';

/** The ordinary (non-root) user every built-in server has, for commands that should not run as root. */
export const BUILTIN_USER = { name: 'nimbus', uid: 1000, gid: 1000, home: '/home/nimbus' };

export async function busyboxVersion(busybox = HOST_BUSYBOX): Promise<string> {
  // With no applet, busybox prints its banner ("BusyBox v1.35.0 (...)") and exits 0 or 1.
  const { stdout, stderr } = await run(busybox, [], { okCodes: [0, 1] });
  const match = /BusyBox v([0-9][^\s]*)/.exec(stdout + stderr);
  if (!match) throw new Error(`${busybox} does not look like BusyBox`);
  return match[1];
}

const DIRECTORIES: [string, number][] = [
  ['bin', 0o755], ['sbin', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['etc', 0o755],
  ['root', 0o700], ['home', 0o755], ['tmp', 0o1777], ['var/tmp', 0o1777], ['var/log', 0o755],
  ['run', 0o755], ['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['mnt', 0o755], ['opt', 0o755],
];

function etcFiles(version: string): Record<string, string> {
  const user = BUILTIN_USER;
  return {
    passwd: [
      'root:x:0:0:root:/root:/bin/sh',
      `${user.name}:x:${user.uid}:${user.gid}:Nimbus user:${user.home}:/bin/sh`,
      'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
      '',
    ].join('\n'),
    group: ['root:x:0:', `${user.name}:x:${user.gid}:`, 'nogroup:x:65534:', ''].join('\n'),
    'os-release': [
      'NAME="Nimbus BusyBox"',
      'ID=busybox',
      `VERSION_ID=${version}`,
      `PRETTY_NAME="Nimbus BusyBox ${version}"`,
      '',
    ].join('\n'),
    hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    // Servers live on a private network without a resolver; names come from /etc/hosts.
    'resolv.conf': '',
    profile: 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
  };
}

/** Fills an empty directory with the built-in image: busybox, its applet links, /etc and a user. */
export async function writeBusyboxRootfs(rootfs: string, busybox = HOST_BUSYBOX): Promise<void> {
  const version = await busyboxVersion(busybox);
  for (const [dir, mode] of DIRECTORIES) {
    await mkdir(path.join(rootfs, dir), { recursive: true });
    await chmod(path.join(rootfs, dir), mode);
  }
  const home = path.join(rootfs, BUILTIN_USER.home);
  await mkdir(home, { recursive: true, mode: 0o755 });
  await chown(home, BUILTIN_USER.uid, BUILTIN_USER.gid);

  await copyFile(busybox, path.join(rootfs, 'bin/busybox'));
  await chmod(path.join(rootfs, 'bin/busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list-full']);
  for (const applet of stdout.split('\n').map((line) => line.trim()).filter(Boolean)) {
    if (applet === 'bin/busybox' || applet.includes('..')) continue;
    const link = path.join(rootfs, applet);
    await mkdir(path.dirname(link), { recursive: true });
    await symlink('/bin/busybox', link);
  }

  for (const [name, content] of Object.entries(etcFiles(version))) {
    await writeFile(path.join(rootfs, 'etc', name), content, { mode: 0o644 });
  }
}
