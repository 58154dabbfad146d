import { ComputeRejected } from '../compute-host.ts';
import { readFileInRoot, ROOTFS_FILE_LIMIT } from '../rootfs-path.ts';
import { UntrustedFileRefused } from '../untrusted-files.ts';

export interface ExecUser {
  name: string;
  uid: number;
  gid: number;
  /** Supplementary groups from /etc/group membership. */
  additionalGids: number[];
  home: string;
  /** The login shell the server's /etc/passwd names (`/bin/sh` when it names none). */
  shell: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^[0-9]+$/;
const DEFAULT_SHELL = '/bin/sh';

function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (fields.length < 7 || !NUMERIC.test(fields[2]) || !NUMERIC.test(fields[3])) return [];
    return [{ name: fields[0], uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] || '/', shell: fields[6] || DEFAULT_SHELL }];
  });
}

function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (fields.length < 4 || !NUMERIC.test(fields[2])) return [];
    return [{ name: fields[0], gid: Number(fields[2]), members: fields[3].split(',').filter(Boolean) }];
  });
}

/**
 * /etc/passwd or /etc/group of the server. One that is not a regular file is refused here:
 * runc reads them too, inside the server, and would wait for ever on a FIFO.
 */
async function readAccountFile(rootfs: string, inside: string): Promise<string | undefined> {
  try {
    return await readFileInRoot(rootfs, inside);
  } catch (error) {
    if (error instanceof UntrustedFileRefused) throw new ComputeRejected(`the server's ${inside} ${error.message}; commands need it to be a regular file of at most ${ROOTFS_FILE_LIMIT} bytes, or absent`, 'username');
    throw error;
  }
}

/**
 * Who a command runs as, from the server's own /etc/passwd and /etc/group (a user name or a
 * uid; root by default), the way `su` would: the user's primary group unless one is named,
 * plus the groups listing the user as a member.
 */
export async function resolveExecUser(rootfs: string, username?: string, groupname?: string): Promise<ExecUser> {
  const passwd = parsePasswd((await readAccountFile(rootfs, '/etc/passwd')) ?? '');
  const groups = parseGroup((await readAccountFile(rootfs, '/etc/group')) ?? '');
  const wanted = username === undefined || username === '' ? '0' : username;

  let user: PasswdEntry | undefined;
  if (NUMERIC.test(wanted)) {
    const uid = Number(wanted);
    user = passwd.find((entry) => entry.uid === uid) ?? { name: wanted, uid, gid: 0, home: uid === 0 ? '/root' : '/', shell: DEFAULT_SHELL };
  } else {
    user = passwd.find((entry) => entry.name === wanted);
    if (!user) throw new ComputeRejected(`user ${JSON.stringify(wanted)} does not exist on the server`, 'username');
  }

  let gid = user.gid;
  if (groupname !== undefined && groupname !== '') {
    if (NUMERIC.test(groupname)) {
      gid = Number(groupname);
    } else {
      const group = groups.find((entry) => entry.name === groupname);
      if (!group) throw new ComputeRejected(`group ${JSON.stringify(groupname)} does not exist on the server`, 'groupname');
      gid = group.gid;
    }
  }
  const additionalGids = groups.filter((group) => group.members.includes(user.name) && group.gid !== gid).map((group) => group.gid);
  return { name: user.name, uid: user.uid, gid, additionalGids: [...new Set(additionalGids)], home: user.home, shell: user.shell };
}
