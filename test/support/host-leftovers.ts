import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hostVethName } from '../../src/backends/names.ts';
import { firewallTableName } from '../../src/backends/network/firewall.ts';

/**
 * What a compute root still holds on the host: mounts and loop devices under it, the veths,
 * bridges, network namespaces and memory cgroups named after the given ids, and files under
 * the root outside the folders it may keep, and its nftables table. Empty when everything was released.
 */
export function hostLeftovers(root: string, ids: { servers: readonly string[]; bridges?: readonly string[] }, keep: readonly string[] = ['images']): string[] {
  const found: string[] = [];
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  found.push(...mountinfo.split('\n').filter((line) => line.includes(root)).map((line) => `mount: ${line}`));
  const loops = execFileSync('losetup', ['-a'], { encoding: 'utf8' });
  found.push(...loops.split('\n').filter((line) => line.includes(root)).map((line) => `loop: ${line}`));
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  const names = [...ids.servers.map(hostVethName), ...(ids.bridges ?? [])];
  found.push(...links.split('\n').filter((line) => names.some((name) => line.includes(`${name}:`) || line.includes(`${name}@`))).map((line) => `link: ${line}`));
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  found.push(...namespaces.split('\n').filter((line) => ids.servers.some((id) => line.includes(id))).map((line) => `netns: ${line}`));
  if (existsSync('/sys/fs/cgroup/memory')) {
    found.push(...readdirSync('/sys/fs/cgroup/memory').filter((name) => ids.servers.some((id) => name.includes(id))).map((name) => `cgroup: ${name}`));
  }
  const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  if (tables.split('\n').some((line) => line.trim() === `table inet ${firewallTableName(root)}`)) found.push(`nftables: table inet ${firewallTableName(root)}`);
  found.push(...filesUnder(root, keep).map((file) => `file: ${file}`));
  return found;
}

/**
 * Files under `root`, but in the top-level folders named in `keep` (images stay for the next
 * server). Symlinks are listed, never followed (an image's rootfs may point anywhere).
 */
function filesUnder(root: string, keep: readonly string[]): string[] {
  if (!existsSync(root)) return [];
  const files: string[] = [];
  const walk = (full: string) => {
    const stat = lstatSync(full, { throwIfNoEntry: false });
    if (!stat) return;
    if (!stat.isDirectory()) {
      files.push(full);
      return;
    }
    for (const name of entriesOf(full)) walk(path.join(full, name));
  };
  for (const name of entriesOf(root)) if (!keep.includes(name)) walk(path.join(root, name));
  return files;
}

/** A directory's entries, or none when it went away meanwhile. */
function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
