import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ComputeRejected } from '../compute-host.ts';
import { exists } from '../files.ts';
import { hostArch } from './arch.ts';

/*
 * An OCI image layout (what `skopeo copy ... oci-archive:` and `docker save` write):
 * `oci-layout`, `index.json` pointing at a manifest (or an index of per-platform manifests),
 * the manifest listing layer blobs in order, every blob under `blobs/<alg>/<hex>`.
 */

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { architecture?: string; os?: string };
}

interface IndexDocument {
  manifests?: Descriptor[];
}

interface ManifestDocument {
  config?: Descriptor;
  layers?: Descriptor[];
}

export interface OciImage {
  /** Layer blob files, lowest first. */
  layers: string[];
  arch: string;
}

const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

function reject(message: string): never {
  throw new ComputeRejected(`OCI image layout: ${message}`, 'archive');
}

export async function isOciLayout(dir: string): Promise<boolean> {
  return (await exists(path.join(dir, 'oci-layout'))) && (await exists(path.join(dir, 'index.json')));
}

async function readJson<T>(file: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    return reject(`${what} is not readable JSON (${(error as Error).message})`);
  }
}

/** The blob's path, after checking its size and digest: a layout must not smuggle other content. */
async function blob(layoutDir: string, descriptor: Descriptor): Promise<string> {
  const match = /^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$/.exec(descriptor.digest ?? '');
  if (!match) reject(`unsupported digest ${JSON.stringify(descriptor.digest)}`);
  const [, algorithm, hex] = match;
  const file = path.join(layoutDir, 'blobs', algorithm, hex);
  if (!(await exists(file))) reject(`blob ${descriptor.digest} is missing`);
  if (descriptor.size !== undefined && (await stat(file)).size !== descriptor.size) reject(`blob ${descriptor.digest} has the wrong size`);
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== hex) reject(`blob ${descriptor.digest} does not match its digest`);
  return file;
}

function pickManifest(manifests: Descriptor[]): Descriptor {
  if (manifests.length === 0) reject('the index lists no manifest');
  const arch = hostArch();
  return manifests.find((m) => m.platform?.architecture === arch && (m.platform.os ?? 'linux') === 'linux') ?? manifests[0];
}

async function resolveManifest(layoutDir: string, descriptor: Descriptor, depth = 0): Promise<ManifestDocument> {
  if (depth > 4) reject('indexes nest too deeply');
  const document = await readJson<ManifestDocument & IndexDocument>(await blob(layoutDir, descriptor), `blob ${descriptor.digest}`);
  const isIndex = INDEX_TYPES.has(descriptor.mediaType ?? '') || (!descriptor.mediaType && Array.isArray(document.manifests));
  if (isIndex) return resolveManifest(layoutDir, pickManifest(document.manifests ?? []), depth + 1);
  if (descriptor.mediaType && !MANIFEST_TYPES.has(descriptor.mediaType)) reject(`unsupported manifest type ${descriptor.mediaType}`);
  return document;
}

export async function readOciImage(layoutDir: string): Promise<OciImage> {
  const index = await readJson<IndexDocument>(path.join(layoutDir, 'index.json'), 'index.json');
  const manifest = await resolveManifest(layoutDir, pickManifest(index.manifests ?? []));
  const layers: string[] = [];
  for (const layer of manifest.layers ?? []) {
    if (layer.mediaType && !/tar/.test(layer.mediaType)) reject(`layer type ${layer.mediaType} is not a tar archive`);
    layers.push(await blob(layoutDir, layer));
  }
  let arch = hostArch();
  if (manifest.config) {
    const config = await readJson<{ architecture?: string }>(await blob(layoutDir, manifest.config), 'the image config');
    arch = config.architecture ?? arch;
  }
  return { layers, arch };
}
