import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ComputeRejected } from '../compute-host.ts';
import { exists } from '../files.ts';
import { hostArch } from './arch.ts';
import { applyLayer, extractArchive, type ExtractionBudget } from './layers.ts';
import { isOciLayout, readOciImage } from './oci-layout.ts';

/**
 * Fills `rootfs` from an uploaded archive: a root filesystem tarball as it is, or an OCI image
 * layout whose layers are applied in order. The archive is unpacked once into `scratch`; what
 * it holds decides which of the two it was. Everything unpacked counts against `budget`.
 */
export async function rootfsFromArchive(archivePath: string, rootfs: string, scratch: string, budget: ExtractionBudget): Promise<{ arch: string }> {
  if (!(await exists(archivePath))) throw new ComputeRejected('the uploaded archive is gone', 'archive');
  const unpacked = path.join(scratch, 'unpacked');
  await mkdir(unpacked, { recursive: true });
  await extractArchive(archivePath, unpacked, budget, { label: 'the archive' });
  if (budget.entries === 0) throw new ComputeRejected('the archive is empty', 'archive');

  if (!(await isOciLayout(unpacked))) {
    await rm(rootfs, { recursive: true, force: true });
    await rename(unpacked, rootfs);
    return { arch: hostArch() };
  }
  const image = await readOciImage(unpacked);
  if (image.layers.length === 0) throw new ComputeRejected('OCI image layout: the image has no layers', 'archive');
  await mkdir(rootfs, { recursive: true });
  for (const layer of image.layers) await applyLayer(rootfs, layer, budget);
  await rm(unpacked, { recursive: true, force: true });
  return { arch: image.arch };
}
