import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ComputeRejected, type ImageArtifact } from '../compute-host.ts';
import { exists, makeStagingDir, readJsonIfExists, treeSize } from '../files.ts';
import { shiftOwnership, type ServerIdRange } from '../id-ranges.ts';
import type { HostLayout } from '../layout.ts';
import { unmountAllUnder } from '../mounts.ts';
import { assertId } from '../names.ts';
import { run } from '../command.ts';
import { SparePool, type SpareSettings } from '../spares.ts';
import { hostArch } from './arch.ts';
import { rootfsFromArchive } from './archive.ts';
import { writeBusyboxRootfs } from './builtin.ts';
import { rootfsFromSnapshot } from './from-snapshot.ts';
import { ExtractionBudget } from './layers.ts';

const METADATA = 'image.json';

type FillRootfs = (rootfs: string, scratch: string) => Promise<{ arch: string }>;

/**
 * Images: `images/<id>/rootfs`, the read-only lower layer servers share, and `image.json`.
 * An image is built under staging and renamed into place whole, so an image directory that
 * exists is complete and a crashed build leaves only staging (swept) behind.
 */
/** What one imported image may unpack to. */
export interface ImageLimits {
  maxBytes: number;
  maxEntries: number;
}

/** Enough for large distribution images (a full Debian with development tools is about 2 GB in 100,000 files). */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 8 * 1024 ** 3, maxEntries: 500_000 };

export class ImageStore {
  /** Copies of images made ahead of the servers that take them (`spares/images/<id>/`). */
  private readonly copies: SparePool;

  constructor(
    private readonly layout: HostLayout,
    private readonly idRange: ServerIdRange,
    private readonly limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
    options: SpareSettings = {},
  ) {
    this.copies = new SparePool(layout.sparesOf('images'), async (imageId, target) => copyTree(await this.rootfs(imageId), target), { perKey: options.spares ?? 0, foreground: options.foreground });
  }

  /**
   * A copy of the image's root filesystem at `target` (which must not exist), owned as in the
   * image: a spare made ahead of time when one is ready (copying costs a file system operation
   * per file), else made now.
   */
  async copyRootfs(imageId: string, target: string): Promise<void> {
    const source = await this.rootfs(imageId);
    if (!(await this.copies.take(imageId, target))) await copyTree(source, target);
  }

  /** Stops making copies ahead and deletes them. */
  close(): Promise<void> {
    return this.copies.close();
  }

  async artifact(imageId: string): Promise<ImageArtifact | undefined> {
    return readJsonIfExists<ImageArtifact>(path.join(this.layout.imageDir(imageId), METADATA));
  }

  /** The image's root filesystem; refused when the image was never made here. */
  async rootfs(imageId: string): Promise<string> {
    assertId(imageId, 'image');
    if (!(await this.artifact(imageId))) throw new ComputeRejected(`image ${imageId} is not on this host`, 'image');
    return this.layout.imageRootfs(imageId);
  }

  ensureBuiltin(imageId: string): Promise<ImageArtifact> {
    return this.build(imageId, async (rootfs) => {
      await writeBusyboxRootfs(rootfs);
      return { arch: hostArch() };
    });
  }

  /** A failed or refused import leaves nothing: what it unpacked is under scratch, removed by `build`. */
  importArchive(imageId: string, archivePath: string, options: { maxBytes?: number } = {}): Promise<ImageArtifact> {
    const { maxBytes } = options;
    const budget =
      maxBytes !== undefined && maxBytes < this.limits.maxBytes
        ? new ExtractionBudget(maxBytes, this.limits.maxEntries, 'what is left of its organization\'s image quota')
        : new ExtractionBudget(this.limits.maxBytes, this.limits.maxEntries);
    return this.build(imageId, (rootfs, scratch) => rootfsFromArchive(archivePath, rootfs, scratch, budget));
  }

  async fromSnapshot(imageId: string, snapshotId: string, baseImageId: string | null): Promise<ImageArtifact> {
    assertId(snapshotId, 'snapshot');
    const base = baseImageId === null ? undefined : await this.rootfs(baseImageId);
    const baseArch = baseImageId === null ? undefined : (await this.artifact(baseImageId))?.arch;
    return this.build(imageId, async (rootfs, scratch) => {
      await rootfsFromSnapshot(this.layout.snapshotFile(snapshotId), base, rootfs, scratch);
      // A server's files are owned by its block of ids; an image keeps the ids inside the server.
      await shiftOwnership(this.idRange, rootfs, 0);
      return { arch: baseArch ?? hostArch() };
    });
  }

  async remove(imageId: string): Promise<void> {
    assertId(imageId, 'image');
    const dir = this.layout.imageDir(imageId);
    await this.copies.forget(imageId);
    if (!(await exists(dir))) return;
    // Renamed away first so the image vanishes at once, never half-deleted under its own name.
    const doomed = await makeStagingDir(this.layout.staging, `removed-image-${imageId}`);
    await rename(dir, path.join(doomed, 'image'));
    await rm(doomed, { recursive: true, force: true });
  }

  private async build(imageId: string, fill: FillRootfs): Promise<ImageArtifact> {
    assertId(imageId, 'image');
    const existing = await this.artifact(imageId);
    if (existing) return existing;
    const scratch = await makeStagingDir(this.layout.staging, `image-${imageId}`);
    try {
      const image = path.join(scratch, 'image');
      const rootfs = path.join(image, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      const { arch } = await fill(rootfs, scratch);
      const artifact: ImageArtifact = { sizeBytes: await treeSize(rootfs), arch };
      await writeFile(path.join(image, METADATA), JSON.stringify(artifact));
      await mkdir(this.layout.images, { recursive: true });
      try {
        await rename(image, this.layout.imageDir(imageId));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Another task built the same image meanwhile: theirs is as good as ours.
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
        return (await this.artifact(imageId)) ?? artifact;
      }
      return artifact;
    } finally {
      // Never rm -rf through a mount: a snapshot mounted read-only under scratch stays intact.
      await unmountAllUnder(scratch);
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

async function copyTree(source: string, target: string): Promise<void> {
  await run('cp', ['-a', '--sparse=always', source, target]);
}
