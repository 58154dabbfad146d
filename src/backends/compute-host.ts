import type { Readable } from 'node:stream';

/**
 * The contract between core compute services and the machine that runs servers. Core decides
 * (states, quotas, addresses, which volume goes where) and records; the host only does, and
 * every method is idempotent: a task that crashed half-way calls it again with the same ids.
 * The runc implementation lives in `src/backends/runc/`.
 */

/** The host cannot run servers (not root, runc missing...): `message` says how to fix it. */
export class ComputeUnavailable extends Error {
  readonly code = 'compute_unavailable';
}

/** A request the host refused for a reason the caller can act on (a bad archive, a full disk...). */
export class ComputeRejected extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** An organization's private network: one Linux bridge, one IPv4 subnet. */
export interface NetworkSpec {
  id: string;
  /** The bridge's interface name (at most 15 characters). */
  bridge: string;
  /** `10.77.3.0/24` */
  subnet: string;
  /** The bridge's own address in the subnet, the servers' default route. */
  gateway: string;
}

export interface VolumeMount {
  volumeId: string;
  /** Absolute path inside the server. */
  mountPath: string;
}

export interface ServerSpec {
  id: string;
  hostname: string;
  imageId: string;
  /** The ext4 volume holding this server's writable layer over the image. */
  rootVolumeId: string;
  vcpus: number;
  memoryBytes: number;
  network: NetworkSpec;
  /** The server's address in `network.subnet`. */
  address: string;
  volumes: VolumeMount[];
  /**
   * The server's block of host ids (see `id-ranges.ts`): core allocates it, one per server, so
   * root in the server is an unprivileged host id no other server has.
   */
  idBlock: number;
}

export type ContainerState = 'running' | 'stopped' | 'missing';

export interface ExecRequest {
  /** A shell line, run by the image's `/bin/sh -c`. */
  line: string;
  /** A user name from the image's /etc/passwd, or a uid; root by default. */
  username?: string;
  groupname?: string;
  env?: Record<string, string>;
  /** Output as it comes, stdout and stderr interleaved, in order. */
  onOutput(chunk: string): void | Promise<void>;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  elapsedMs: number;
}

export interface TerminalRequest {
  /** A user name from the server's /etc/passwd, or a uid; root by default. Their login shell runs. */
  username?: string;
  groupname?: string;
  rows: number;
  cols: number;
}

/**
 * An interactive shell in a server on a pseudo-terminal: job control, line editing and resize
 * work as on a console. Bytes are passed as they are, both ways.
 */
export interface Terminal {
  onOutput(listener: (chunk: Buffer) => void): void;
  write(input: Buffer): void;
  resize(rows: number, cols: number): void;
  /** Stops reading the shell's output (it blocks once the terminal's buffer is full), until `resume`. */
  pause(): void;
  resume(): void;
  /** Ends the shell (hang-up, then kill); safe to call again. */
  close(): void;
  /** Resolves with the shell's exit code once it has ended. */
  readonly exited: Promise<number>;
}

/** A file written into a server, as one of its users (root by default). */
export interface FileWriteRequest {
  /** Where: a file, or a directory (ending with `/`, or one that exists) to put `name` in. */
  path: string;
  name: string;
  username?: string;
  groupname?: string;
  /** Replace an existing file (refused otherwise). */
  overwrite: boolean;
  /** The content; past `maxBytes` the write is refused and nothing of it stays. */
  source: Readable;
  maxBytes: number;
  /** Names the temporary file the content goes to until it is complete. */
  transferId: string;
}

/** A regular file read out of a server, as one of its users. */
export interface FileReadRequest {
  path: string;
  username?: string;
  groupname?: string;
  maxBytes: number;
}

/** A file or directory read out of a server, as one of its users, as a tar stream. */
export interface TreeReadRequest {
  path: string;
  username?: string;
  groupname?: string;
  /** The most bytes of tar the stream may carry: past them it fails. */
  maxBytes: number;
}

export interface ServerFacts {
  hostname: string;
  os: { name: string; version: string; platform: string };
  cpu: { count: number; model: string; arch: string };
  memoryBytes: number;
  disks: { mountPath: string; sizeBytes: number; usedBytes: number }[];
  uptimeSeconds: number;
  bootTime: string;
}

export interface ImageArtifact {
  sizeBytes: number;
  arch: string;
}

export interface ComputeHost {
  /** Resolves when servers can run here; throws `ComputeUnavailable` otherwise. Cached. */
  ensureAvailable(): Promise<void>;

  images: {
    /** The built-in minimal image, made from Debian's busybox-static on first use. */
    ensureBuiltin(imageId: string): Promise<ImageArtifact>;
    /**
     * A root-filesystem tarball (`.tar`, `.tar.gz`) or an OCI image layout archive, refused when
     * it unpacks to more than the host's limits or `maxBytes` (what its organization's quota leaves).
     */
    importArchive(imageId: string, archivePath: string, options?: { maxBytes?: number }): Promise<ImageArtifact>;
    /** An image whose root filesystem is a snapshot's (a root volume's snapshot is merged over its base image). */
    fromSnapshot(imageId: string, snapshotId: string, baseImageId: string | null): Promise<ImageArtifact>;
    remove(imageId: string): Promise<void>;
  };

  volumes: {
    /** A sparse ext4 file of `sizeBytes`, empty or with a snapshot's content. */
    create(volumeId: string, sizeBytes: number, fromSnapshotId?: string): Promise<void>;
    /** Grows the file and the filesystem (online when mounted). */
    resize(volumeId: string, sizeBytes: number): Promise<void>;
    remove(volumeId: string): Promise<void>;
    snapshot(volumeId: string, snapshotId: string): Promise<{ sizeBytes: number }>;
    removeSnapshot(snapshotId: string): Promise<void>;
  };

  servers: {
    /** Prepares the bundle; the root volume already exists. */
    create(spec: ServerSpec): Promise<void>;
    /** Mounts, wires the network and starts the container; undoes its own work when it fails. */
    start(spec: ServerSpec): Promise<void>;
    /** SIGTERM, SIGKILL after `timeoutMs`, then releases mounts and network. */
    stop(serverId: string, options: { timeoutMs: number }): Promise<void>;
    state(serverId: string): Promise<ContainerState>;
    /** Stops if needed and removes the bundle (not the volumes: core removes those). */
    remove(serverId: string): Promise<void>;
    exec(serverId: string, request: ExecRequest): Promise<ExecResult>;
    /** Streams a file into a running server (see `FileWriteRequest`); where it went and its size. */
    writeFile(serverId: string, request: FileWriteRequest): Promise<{ path: string; bytes: number }>;
    /** A file of a running server as a stream; refused with why before streaming when it cannot be read. */
    readFile(serverId: string, request: FileReadRequest): Promise<Readable>;
    /**
     * A file or directory of a running server as a tar stream whose entries start with its base
     * name, read as the user inside the server (paths resolve there; links are not followed);
     * refused with why before streaming when it cannot be read.
     */
    readTree(serverId: string, request: TreeReadRequest): Promise<Readable>;
    /** Opens a shell on a pseudo-terminal in a running server. */
    terminal(serverId: string, request: TerminalRequest): Promise<Terminal>;
    facts(serverId: string): Promise<ServerFacts>;
  };

  /**
   * Releases what nothing known owns (containers, mounts, loop devices, veths, bridges,
   * bundles, volume files); returns a line per thing released. Run at start-up.
   */
  sweep(known: { servers: ReadonlySet<string>; volumes: ReadonlySet<string>; networks: ReadonlySet<string> }): Promise<string[]>;

  /** Stops background work (refilling the pool of spare volumes and image copies) and deletes the spares. The host stays usable. */
  close(): Promise<void>;
}
