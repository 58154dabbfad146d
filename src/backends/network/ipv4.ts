import { ComputeRejected, type NetworkSpec } from '../compute-host.ts';

function parseAddress(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function parseSubnet(cidr: string): { base: number; prefix: number } | undefined {
  const [address, prefixText, ...rest] = cidr.split('/');
  const base = parseAddress(address ?? '');
  const prefix = Number(prefixText);
  if (rest.length > 0 || base === undefined || !/^[0-9]{1,2}$/.test(prefixText ?? '') || prefix < 8 || prefix > 30) return undefined;
  return { base, prefix };
}

function inSubnet(address: number, subnet: { base: number; prefix: number }): boolean {
  const size = 2 ** (32 - subnet.prefix);
  const start = subnet.base - (subnet.base % size);
  // Neither the network address nor the broadcast address is a host's.
  return address > start && address < start + size - 1;
}

/** Checks a network and a server address in it; returns the prefix length for `ip addr`. */
export function checkAddressing(network: NetworkSpec, address?: string): number {
  const subnet = parseSubnet(network.subnet);
  if (!subnet) throw new ComputeRejected(`network subnet ${JSON.stringify(network.subnet)} is not an IPv4 CIDR between /8 and /30`, 'subnet');
  const gateway = parseAddress(network.gateway);
  if (gateway === undefined || !inSubnet(gateway, subnet)) {
    throw new ComputeRejected(`gateway ${JSON.stringify(network.gateway)} is not a host address in ${network.subnet}`, 'gateway');
  }
  if (!/^[a-z0-9]{1,15}$/.test(network.bridge)) throw new ComputeRejected(`bridge name ${JSON.stringify(network.bridge)} is not a valid interface name`, 'bridge');
  if (address !== undefined) {
    const value = parseAddress(address);
    if (value === undefined || !inSubnet(value, subnet) || value === gateway) {
      throw new ComputeRejected(`address ${JSON.stringify(address)} is not a free host address in ${network.subnet}`, 'address');
    }
  }
  return subnet.prefix;
}
