import type { Readable } from 'node:stream';
/**
 * The contract between core apps services and the machine that builds and runs app processes.
 * Core decides (releases, formation, which container runs where, addresses) and records; the
 * host only does, and every method is idempotent and keyed by ids. The runc implementation
 * lives in `src/backends/apps/`.
 */
import type { NetworkSpec } from './compute-host.ts';

/** What a source archive holds that core needs before building it. */
export interface SourceFacts {
  /** The Procfile's text, when the archive has one at its top. */
  procfile: string | null;
  /** package.json's `scripts.start`, when there is one. */
  startScript: string | null;
}

export interface SourceLimits {
  /** Largest total size of the unpacked files, in bytes. */
  unpackedBytes: number;
  /** Most entries an archive may hold. */
  entries: number;
}

/** Limits of a container: memory in bytes, CPU as a share of one core (0.25 = a quarter). */
export interface ContainerLimits {
  memoryBytes: number;
  cpu: number;
}

export interface BuildRequest {
  /** The deployment's id: the build's working directory and container are named by it. */
  id: string;
  archivePath: string;
  stack: string;
  env: Record<string, string>;
  limits: ContainerLimits;
  onOutput(text: string): void | Promise<void>;
  signal?: AbortSignal;
}

export interface ProcessSpec {
  /** The container's id. */
  id: string;
  /** The release whose slug it runs. */
  slugId: string;
  /** A shell line (a Procfile entry), run by `/bin/sh -c` in `/app` (in `/` when the slug is a root filesystem). */
  command: string;
  /** The slug is an image's root filesystem (a release made from an image): the process runs on it instead of the stack. */
  slugIsRootfs?: boolean;
  env: Record<string, string>;
  limits: ContainerLimits;
  network: NetworkSpec;
  address: string;
}

export interface RunRequest {
  id: string;
  slugId: string;
  command: string;
  env: Record<string, string>;
  limits: ContainerLimits;
  onOutput(text: string): void | Promise<void>;
  signal?: AbortSignal;
  /** The process's standard input (an attached run); without it, the process reads an empty one. */
  stdin?: Readable;
}

export interface AppHost {
  /** Resolves when apps can run here; throws `ComputeUnavailable` saying how to fix it otherwise. */
  ensureAvailable(): Promise<void>;
  /** Reads an archive without unpacking it; throws `ComputeRejected` (field `source`) when it is not one or breaks a rule. */
  inspectSource(archivePath: string, limits: SourceLimits): Promise<SourceFacts>;
  /** Unpacks the archive and runs the stack's build in a container; the exit code. */
  build(request: BuildRequest, limits: SourceLimits): Promise<{ exitCode: number }>;
  /** Makes a finished build the immutable slug `slugId`. */
  promote(buildId: string, slugId: string): Promise<{ sizeBytes: number }>;
  removeBuild(buildId: string): Promise<void>;
  removeSlug(slugId: string): Promise<void>;
  /** Makes a copy of a compute image's root filesystem the immutable slug `slugId` (kept when it exists already). */
  slugFromImage(imageId: string, slugId: string): Promise<{ sizeBytes: number }>;
  processes: {
    /** Starts the container (detached: it outlives Nimbus); a running one is left alone. */
    start(spec: ProcessSpec): Promise<void>;
    /** SIGTERM, SIGKILL after `timeoutMs`; releases its network and files. */
    stop(id: string, options: { timeoutMs: number }): Promise<void>;
    running(id: string): Promise<boolean>;
    /** Output written since `offset` (stdout and stderr in order), and the offset after it. */
    readOutput(id: string, offset: number): Promise<{ text: string; offset: number }>;
  };
  /** A one-off container with a release's slug; its output streamed, its exit code returned. */
  run(request: RunRequest): Promise<{ exitCode: number }>;
  /** Releases what no known process, slug or build owns; a line per thing released. */
  sweep(known: { processes: ReadonlySet<string>; slugs: ReadonlySet<string> }): Promise<string[]>;
}
