import { createHash } from 'node:crypto';
import { assertScope, type Actor } from '../actor.ts';
import { SIZES } from '../apps/plans.ts';
import { PLANS, VOLUME_PLANS } from '../compute/plans.ts';
import { NotFound, ValidationFailed } from '../errors.ts';
import { formatAmount, minorDigits, parseAmount } from './money.ts';

/**
 * The catalog: where things run (locations) and what can be bought (packages: app container
 * sizes, server plans and volume sizes), each with a monthly price in the installation's
 * currency. Prices are integers of the currency's minor unit; surfaces show them as decimal strings.
 */

export interface CatalogSettings {
  /** ISO 4217 code (`NIMBUS_CURRENCY`). */
  currency: string;
  /** Monthly prices by package name, as decimal strings (`NIMBUS_PRICES`), over the defaults. */
  prices: Record<string, string>;
  /** The installation's region (`NIMBUS_REGION`): its one location. */
  region: string;
  /** The machines apps and servers run on: the location's zones. */
  zones: string[];
}

export const CATALOG_DEFAULTS: Omit<CatalogSettings, 'zones'> = { currency: 'USD', prices: {}, region: 'nimbus' };

export type PackageKind = 'container' | 'server' | 'volume';

export interface Price {
  /** Exact: the decimal string of the minor-unit integer. */
  amount: string;
  currency: string;
  term: 'month';
}

export interface Package {
  id: string;
  kind: PackageKind;
  /** Unique across kinds: what `NIMBUS_PRICES` names. */
  name: string;
  /** CPU share of one core (containers) or vCPUs (servers); null for volumes. */
  cpu: number | null;
  memory_bytes: number | null;
  storage_bytes: number | null;
  price: Price;
}

export interface Location {
  id: string;
  name: string;
  zones: { id: string; name: string }[];
}

/** A stable UUID-shaped id for a name (locations and zones are configured, not stored). */
function idOf(kind: string, name: string): string {
  const hex = createHash('sha256').update(`${kind}:${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Container sizes get ids that never change, beside the plans' (…0a…: servers, …0b…: volumes). */
const containerId = (n: number) => `00000000-0000-4000-8000-0000000c${String(n).padStart(4, '0')}`;

/** Whole amounts, so that they hold in any currency (JPY has no minor unit). */
const DEFAULT_PRICES: Record<string, string> = {
  S: '5', M: '10', L: '20', XL: '40', '2XL': '80',
  '1vCPU.128MB': '2', '1vCPU.256MB': '3', '1vCPU.512MB': '5', '2vCPU.1GB': '10', '2vCPU.2GB': '20', '4vCPU.4GB': '40', '8vCPU.8GB': '80',
  '1GB': '1', '5GB': '2', '10GB': '3', '20GB': '5', '50GB': '10', '100GB': '20',
};

type Unpriced = Omit<Package, 'price'>;

const UNPRICED: readonly Unpriced[] = [
  ...Object.entries(SIZES).map(([name, size], i): Unpriced => ({ id: containerId(i + 1), kind: 'container', name, cpu: size.cpu, memory_bytes: size.memoryBytes, storage_bytes: null })),
  ...PLANS.map((p): Unpriced => ({ id: p.id, kind: 'server', name: p.name, cpu: p.vcpus, memory_bytes: p.memoryBytes, storage_bytes: null })),
  ...VOLUME_PLANS.map((p): Unpriced => ({ id: p.id, kind: 'volume', name: p.name, cpu: null, memory_bytes: null, storage_bytes: p.sizeBytes })),
];

/** `name=amount,name=amount` (NIMBUS_PRICES) as a map; a field error on `field` when it is not. */
export function parsePriceList(text: string, field = 'NIMBUS_PRICES'): Record<string, string> {
  const prices: Record<string, string> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name, amount, extra] = entry.split('=').map((p) => p.trim());
    if (!name || amount === undefined || extra !== undefined) throw ValidationFailed.field(field, `"${entry}" is not name=amount.`);
    prices[name] = amount;
  }
  return prices;
}

/** Every package with its price; a field error when the currency or a price does not hold. */
export function pricedPackages(settings: Pick<CatalogSettings, 'currency' | 'prices'>): Package[] {
  const digits = minorDigits(settings.currency);
  if (digits === null) throw ValidationFailed.field('NIMBUS_CURRENCY', `"${settings.currency}" is not an ISO 4217 currency code.`);
  const unknown = Object.keys(settings.prices).find((name) => !UNPRICED.some((p) => p.name === name));
  if (unknown !== undefined) throw ValidationFailed.field('NIMBUS_PRICES', `"${unknown}" is not a package. Choose from: ${UNPRICED.map((p) => p.name).join(', ')}.`);
  return UNPRICED.map((item) => {
    const given = settings.prices[item.name] ?? DEFAULT_PRICES[item.name]!;
    const minor = parseAmount(given, digits);
    if (minor === null) throw ValidationFailed.field('NIMBUS_PRICES', `${item.name}: "${given}" is not an amount in ${settings.currency} (digits, and at most ${digits} after the point).`);
    return { ...item, price: { amount: formatAmount(minor, digits), currency: settings.currency, term: 'month' } };
  });
}

const KINDS: readonly PackageKind[] = ['container', 'server', 'volume'];

export type CatalogService = ReturnType<typeof createCatalogService>;

/**
 * Locations and packages: the same for every organization, readable by any credential carrying
 * `public:read`, whatever its role (an OAuth client acting for itself has none).
 */
export function createCatalogService(settings: CatalogSettings) {
  const packages = pricedPackages(settings);
  const location: Location = { id: idOf('location', settings.region), name: settings.region, zones: settings.zones.map((name) => ({ id: idOf('zone', name), name })) };

  function listLocations(actor: Actor): Location[] {
    assertScope(actor, 'public:read');
    return [location];
  }

  function getLocation(actor: Actor, id: string): Location {
    assertScope(actor, 'public:read');
    if (id !== location.id) throw new NotFound('location', 'No location matches the given query.');
    return location;
  }

  function listPackages(actor: Actor, filters: { kind?: string } = {}): Package[] {
    assertScope(actor, 'public:read');
    if (filters.kind !== undefined && !(KINDS as readonly string[]).includes(filters.kind)) throw ValidationFailed.field('kind', `"${filters.kind}" is not a valid choice. Choose from: ${KINDS.join(', ')}.`);
    return packages.filter((p) => filters.kind === undefined || p.kind === filters.kind);
  }

  function getPackage(actor: Actor, id: string): Package {
    assertScope(actor, 'public:read');
    const found = packages.find((p) => p.id === id);
    if (!found) throw new NotFound('package', 'No package matches the given query.');
    return found;
  }

  /** The container package an order names, or a field error on `field`. */
  function resolveContainerPackage(id: unknown, field: string): Package {
    const found = packages.find((p) => p.kind === 'container' && p.id === id);
    if (!found) throw ValidationFailed.field(field, `"${String(id ?? '')}" is not a container package (GET /api/catalog/packages/?kind=container).`);
    return found;
  }

  /** The location an order names, or a field error on `field`. */
  function resolveLocation(id: unknown, field: string): Location {
    if (id !== location.id) throw ValidationFailed.field(field, `"${String(id ?? '')}" is not a location (GET /api/catalog/locations/).`);
    return location;
  }

  return { currency: settings.currency, listLocations, getLocation, listPackages, getPackage, resolveContainerPackage, resolveLocation };
}
