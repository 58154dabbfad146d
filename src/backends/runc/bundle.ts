import { readFileSync } from 'node:fs';
import type { ServerSpec } from '../compute-host.ts';
import { IDS_PER_SERVER } from '../id-ranges.ts';

/**
 * The init every server runs: the host's static busybox, bind-mounted read-only into the
 * server's /dev (a tmpfs, so nothing lands in the server's own files), works for any image,
 * even one without a shell. It idles, reaps what is reparented to it, and exits 0 on SIGTERM:
 * a graceful stop.
 */
export const INIT_BINARY_PATH = '/dev/.nimbus/busybox';
// Its output goes nowhere: console.log (its stdio, where runc reports a failed start) is a host
// file, and a server's root could otherwise fill the host's disk through /proc/1/fd/1.
const INIT_SCRIPT = "exec >/dev/null 2>&1 </dev/null; trap 'exit 0' TERM; while :; do sleep 86400 & wait $!; done";

/** Docker's default capability set: what software expects of a root user on a server. */
const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const CPU_PERIOD_US = 100_000;

interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet: number;
  architectures: Partial<Record<NodeJS.Architecture, string[]>>;
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: object[] }[];
}

/**
 * The seccomp filter every server runs under (`seccomp.json`, modelled on Docker's default),
 * as the OCI runtime config takes it, for this machine's architecture.
 */
export function seccompFilter(profile: SeccompProfile = JSON.parse(readFileSync(new URL('./seccomp.json', import.meta.url), 'utf8'))) {
  const architectures = profile.architectures[process.arch];
  if (!architectures) throw new Error(`no seccomp architectures are known for ${process.arch}`);
  return {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    architectures,
    syscalls: profile.syscalls.map(({ names, action, errnoRet, args }) => ({ names, action, ...(errnoRet === undefined ? {} : { errnoRet }), ...(args ? { args } : {}) })),
  };
}

const SECCOMP = seccompFilter();

export interface BundleInputs {
  spec: ServerSpec;
  hostsFile: string;
  hostnameFile: string;
  /** Host busybox, the server's init. */
  initBinary: string;
  /** Host mount points of the attached volumes, by volume id. */
  volumeSources: Map<string, string>;
  cgroupsPath: string;
  /** The host id that is root in the server: ids 0-65535 inside are this one onwards. */
  hostId: number;
}

export function bind(source: string, destination: string, readOnly = false) {
  return { destination, type: 'bind', source, options: ['rbind', 'nosuid', 'nodev', readOnly ? 'ro' : 'rw'] };
}

/** What differs between containers: servers and app processes share everything else. */
export interface ContainerInputs {
  process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number } };
  /** The root filesystem: a path relative to the bundle, or absolute. */
  root: { path: string; readonly: boolean };
  hostname: string;
  /** Mounts after the standard ones (/proc, /dev, /sys...). */
  mounts: object[];
  /** A named netns to join; null gives the container a fresh one with only a loopback. */
  netnsPath: string | null;
  resources: { memoryBytes: number; cpuQuotaUs: number; pids: number };
  cgroupsPath: string;
  /**
   * The host id that is root in the container's own user namespace (ids 0-65535 inside are this
   * one onwards); unset runs it in the host's. A user namespace comes with a fresh netns, which
   * it owns (the kernel mounts /sys only then): `netnsPath` must be null.
   */
  hostId?: number;
}

const idMappings = (hostId: number) => [{ containerID: 0, hostID: hostId, size: IDS_PER_SERVER }];

/** The OCI runtime config (config.json) of any container Nimbus runs. */
export function containerConfig(inputs: ContainerInputs): object {
  const { hostId } = inputs;
  if (hostId !== undefined && inputs.netnsPath) throw new Error('a container in its own user namespace gets a fresh netns, not a named one');
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: inputs.process.user,
      args: inputs.process.args,
      env: inputs.process.env,
      cwd: inputs.process.cwd,
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      noNewPrivileges: true,
    },
    root: inputs.root,
    hostname: inputs.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      ...inputs.mounts,
    ],
    linux: {
      cgroupsPath: inputs.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: inputs.resources.memoryBytes },
        cpu: { quota: inputs.resources.cpuQuotaUs, period: CPU_PERIOD_US },
        pids: { limit: inputs.resources.pids },
      },
      namespaces: [
        { type: 'pid' },
        inputs.netnsPath ? { type: 'network', path: inputs.netnsPath } : { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        // The server sees its own cgroup as the root of the hierarchy, not the host's layout.
        { type: 'cgroup' },
        // Root inside is then an unprivileged id on the host, one that no other container has.
        ...(hostId === undefined ? [] : [{ type: 'user' }]),
      ],
      ...(hostId === undefined ? {} : { uidMappings: idMappings(hostId), gidMappings: idMappings(hostId) }),
      seccomp: SECCOMP,
      // Unprivileged users may ping (ICMP datagram sockets), as on most distributions: every
      // group (in a user namespace, the kernel takes only the ids it maps).
      sysctl: { 'net.ipv4.ping_group_range': hostId === undefined ? '0 2147483647' : `0 ${IDS_PER_SERVER - 1}` },
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** The OCI runtime config (config.json) of a server; rootfs is the overlay at `<bundle>/rootfs`. */
export function runtimeConfig(inputs: BundleInputs): object {
  const { spec } = inputs;
  return containerConfig({
    process: {
      args: [INIT_BINARY_PATH, 'sh', '-c', INIT_SCRIPT],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${spec.hostname}`],
      cwd: '/',
      user: { uid: 0, gid: 0 },
    },
    root: { path: 'rootfs', readonly: false },
    hostname: spec.hostname,
    mounts: [
      bind(inputs.initBinary, INIT_BINARY_PATH, true),
      bind(inputs.hostsFile, '/etc/hosts'),
      bind(inputs.hostnameFile, '/etc/hostname'),
      ...spec.volumes.map((volume) => bind(inputs.volumeSources.get(volume.volumeId) ?? '', volume.mountPath)),
    ],
    netnsPath: null,
    resources: { memoryBytes: spec.memoryBytes, cpuQuotaUs: spec.vcpus * CPU_PERIOD_US, pids: 4096 },
    cgroupsPath: inputs.cgroupsPath,
    hostId: inputs.hostId,
  });
}

export function hostsFileContent(spec: ServerSpec): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${spec.address}\t${spec.hostname}`,
    '',
  ].join('\n');
}
