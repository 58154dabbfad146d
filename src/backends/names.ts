import { ComputeRejected } from './compute-host.ts';

/*
 * Host names derive from ids so they are unique, recognisable and sweepable:
 * container and netns `nimbus-<serverId>`, host veth `nv<12 hex>`, bridge `nb<12 hex>`.
 * Linux interface names hold at most 15 characters, hence the 12-digit prefix.
 */

const ID_PATTERN = /^[0-9a-f][0-9a-f-]{11,63}$/i;

/** Ids become file and interface names, so anything but a uuid-like id is refused. */
export function assertId(id: string, what: string): void {
  if (!ID_PATTERN.test(id) || id.replace(/-/g, '').length < 12) {
    throw new ComputeRejected(`${what} id ${JSON.stringify(id)} is not a uuid`, what);
  }
}

function hex12(id: string): string {
  return id.replace(/-/g, '').slice(0, 12).toLowerCase();
}

export const CONTAINER_PREFIX = 'nimbus-';

export function containerName(serverId: string): string {
  return `${CONTAINER_PREFIX}${serverId}`;
}

export function netnsName(serverId: string): string {
  return `${CONTAINER_PREFIX}${serverId}`;
}

export function hostVethName(serverId: string): string {
  return `nv${hex12(serverId)}`;
}

/** The server's end before it is moved into the netns and renamed eth0. */
export function peerVethName(serverId: string): string {
  return `nv${hex12(serverId)}p`;
}

export function bridgeName(networkId: string): string {
  return `nb${hex12(networkId)}`;
}
