import type { FastifyInstance } from 'fastify';
import type { Location, Package } from '../../core/catalog/catalog-service.ts';
import type { CoreServices } from '../../core/services.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

const renderLocation = (location: Location) => ({ id: location.id, name: location.name, regions: location.zones.map((zone) => ({ id: zone.id, name: zone.name })) });

/** A package as ComputeStacks lists products: memory in MB, storage in GB, the price a decimal string. */
function renderProduct(pkg: Package, region: string) {
  return {
    id: pkg.id,
    name: pkg.name,
    kind: pkg.kind,
    price: pkg.price.amount,
    currency: pkg.price.currency,
    term: pkg.price.term,
    cpu: pkg.cpu,
    memory: pkg.memory_bytes === null ? null : pkg.memory_bytes / MIB,
    storage: pkg.storage_bytes === null ? null : pkg.storage_bytes / GIB,
    region,
  };
}

/** Locations and products (packages with their prices): the same for everyone, scope `public`. */
export function catalogRoutes(app: FastifyInstance, { catalog }: Pick<CoreServices, 'catalog'>): void {
  const pub = { config: { computestacksScope: 'public' as const } };
  app.get('/api/locations', pub, async (request) => ({ locations: catalog.listLocations(request.actor).map(renderLocation) }));
  app.get<{ Params: { id: string } }>('/api/locations/:id', pub, async (request) => ({ location: renderLocation(catalog.getLocation(request.actor, request.params.id)) }));
  app.get('/api/products', pub, async (request) => {
    const [location] = catalog.listLocations(request.actor);
    return { products: catalog.listPackages(request.actor).map((pkg) => renderProduct(pkg, location!.id)) };
  });
}
