import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { ComputeRejected } from '../compute-host.ts';
import { exists } from '../files.ts';
import { openUntrusted, readUntrusted, UntrustedFileRefused } from '../untrusted-files.ts';
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
  /** Layer blob files, lowest first, with the name errors give them. */
  layers: { file: string; label: string }[];
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

/** Largest index, manifest or config document read. */
const METADATA_LIMIT = 4 * 1024 * 1024;

/**
 * The host path of a file of the layout. Every directory on the way must be a real directory and
 * the file is opened without following links (`openUntrusted`): a layout whose `index.json` or
 * `blobs/` is a symlink would otherwise make the host read its own files.
 */
async function layoutFile(layoutDir: string, parts: string[]): Promise<string> {
  let current = layoutDir;
  for (const dir of parts.slice(0, -1)) {
    current = path.join(current, dir);
    const stat = await lstat(current).catch(() => undefined);
    if (!stat?.isDirectory()) reject(`${parts.join('/')} is missing (${dir} is not a directory)`);
  }
  return path.join(current, parts[parts.length - 1]);
}

/** Refusals of an untrusted file name the layout's own path, never the host's. */
function refuseUnreadable(what: string, error: unknown): never {
  if (error instanceof UntrustedFileRefused) reject(`${what} ${error.message}`);
  throw error;
}

async function readJson<T>(layoutDir: string, parts: string[], what: string): Promise<T> {
  const file = await layoutFile(layoutDir, parts);
  const bytes = await readUntrusted(file, METADATA_LIMIT).catch((error: unknown) => refuseUnreadable(what, error));
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    // Not the parser's message: it quotes the content.
    return reject(`${what} is not valid JSON`);
  }
}

/** Checks a blob's size and digest (a layout must not smuggle other content); returns its parts in the layout. */
async function blob(layoutDir: string, descriptor: Descriptor): Promise<string[]> {
  const match = /^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$/.exec(descriptor.digest ?? '');
  if (!match) reject(`unsupported digest ${JSON.stringify(String(descriptor.digest).slice(0, 150))}`);
  const [, algorithm, hex] = match;
  const parts = ['blobs', algorithm, hex];
  const what = `blob ${descriptor.digest}`;
  const { handle, size } = await openUntrusted(await layoutFile(layoutDir, parts), Number.MAX_SAFE_INTEGER).catch((error: unknown) => refuseUnreadable(what, error));
  try {
    if (descriptor.size !== undefined && size !== descriptor.size) reject(`${what} has the wrong size`);
    const hash = createHash(algorithm);
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== hex) reject(`${what} does not match its digest`);
  } finally {
    await handle.close();
  }
  return parts;
}

function pickManifest(manifests: Descriptor[]): Descriptor {
  if (manifests.length === 0) reject('the index lists no manifest');
  const arch = hostArch();
  return manifests.find((m) => m.platform?.architecture === arch && (m.platform.os ?? 'linux') === 'linux') ?? manifests[0];
}

async function resolveManifest(layoutDir: string, descriptor: Descriptor, depth = 0): Promise<ManifestDocument> {
  if (depth > 4) reject('indexes nest too deeply');
  const document = await readJson<ManifestDocument & IndexDocument>(layoutDir, await blob(layoutDir, descriptor), `blob ${descriptor.digest}`);
  const isIndex = INDEX_TYPES.has(descriptor.mediaType ?? '') || (!descriptor.mediaType && Array.isArray(document.manifests));
  if (isIndex) return resolveManifest(layoutDir, pickManifest(document.manifests ?? []), depth + 1);
  if (descriptor.mediaType && !MANIFEST_TYPES.has(descriptor.mediaType)) reject(`unsupported manifest type ${JSON.stringify(descriptor.mediaType.slice(0, 150))}`);
  return document;
}

export async function readOciImage(layoutDir: string): Promise<OciImage> {
  const index = await readJson<IndexDocument>(layoutDir, ['index.json'], 'index.json');
  const manifest = await resolveManifest(layoutDir, pickManifest(index.manifests ?? []));
  const layers: OciImage['layers'] = [];
  for (const layer of manifest.layers ?? []) {
    if (layer.mediaType && !/tar/.test(layer.mediaType)) reject(`layer type ${JSON.stringify(layer.mediaType.slice(0, 150))} is not a tar archive`);
    layers.push({ file: path.join(layoutDir, ...(await blob(layoutDir, layer))), label: `layer ${layer.digest}` });
  }
  let arch = hostArch();
  if (manifest.config) {
    const config = await readJson<{ architecture?: string }>(layoutDir, await blob(layoutDir, manifest.config), 'the image config');
    arch = config.architecture ?? arch;
  }
  return { layers, arch };
}
