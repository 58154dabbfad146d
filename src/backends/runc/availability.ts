import { access, constants, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandFailed, run } from '../command.ts';
import { ComputeUnavailable } from '../compute-host.ts';
import { HOST_BUSYBOX } from '../images/builtin.ts';

/** Debian packages providing the programs the host runs, for the "how to fix it" message. */
const TOOLS: [program: string, debianPackage: string][] = [
  ['mkfs.ext4', 'e2fsprogs'], ['resize2fs', 'e2fsprogs'], ['e2fsck', 'e2fsprogs'],
  ['ip', 'iproute2'], ['nft', 'nftables'], ['losetup', 'mount'], ['mount', 'mount'], ['fsfreeze', 'util-linux'], ['cp', 'coreutils'],
];

async function onPath(program: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    try {
      await access(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      // Try the next directory.
    }
  }
  return false;
}

/** Every reason this machine cannot run servers, each with its fix; empty when it can. */
export async function hostProblems(runcPath: string): Promise<string[]> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) {
    problems.push('Nimbus is not running as root (servers need mounts, loop devices and network namespaces): run Nimbus as root');
  }
  try {
    await run(runcPath, ['--version']);
  } catch (error) {
    const missing = error instanceof CommandFailed && error.exitCode === null;
    problems.push(missing ? `runc is not installed: install runc (apt-get install runc)${runcPath === 'runc' ? '' : ` or fix its path ${runcPath}`}` : `runc does not work: ${(error as Error).message}`);
  }
  try {
    await access(HOST_BUSYBOX, constants.X_OK);
  } catch {
    problems.push(`${HOST_BUSYBOX} is missing: install busybox-static (apt-get install busybox-static)`);
  }
  const missingPackages = new Set<string>();
  for (const [program, debianPackage] of TOOLS) if (!(await onPath(program))) missingPackages.add(debianPackage);
  if (missingPackages.size > 0) problems.push(`programs are missing: apt-get install ${[...missingPackages].join(' ')}`);
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\boverlay\b/.test(filesystems)) problems.push('the kernel has no overlayfs: load it (modprobe overlay)');
  return problems;
}

export function unavailable(problems: string[]): ComputeUnavailable {
  return new ComputeUnavailable(`Servers cannot run on this host: ${problems.join('; ')}.`);
}
