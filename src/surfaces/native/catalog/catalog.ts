import type { CatalogService, Location, Package } from '../../../core/catalog/catalog-service.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, IdParams, onePage, OnePage } from '../wire/common.ts';
import { LocationBody, PackageBody, PackageFilters } from '../wire/catalog.ts';

const LOCATIONS = '/api/catalog/locations/';
const PACKAGES = '/api/catalog/packages/';

const renderLocation = (l: Location) => ({ id: l.id, name: l.name, zones: l.zones });
const renderPackage = (p: Package) => ({ id: p.id, kind: p.kind, name: p.name, cpu: p.cpu, memory: p.memory_bytes, storage: p.storage_bytes, price: p.price });

/** `/api/catalog/`: where things run and what can be ordered, with monthly prices in the installation's currency. */
export function catalogRoutes(app: FastifyTypeBox, catalog: CatalogService): void {
  const tags = ['catalog'];

  app.get(LOCATIONS, {
    schema: { tags, summary: "List locations: the installation's region and its zones", response: { 200: OnePage(LocationBody), ...commonErrors } },
    handler: async (request) => onePage(catalog.listLocations(request.actor).map(renderLocation)),
  });

  app.get(`${LOCATIONS}:id/`, {
    schema: { tags, summary: 'Retrieve a location', params: IdParams, response: { 200: LocationBody, ...commonErrors } },
    handler: async (request) => renderLocation(catalog.getLocation(request.actor, request.params.id)),
  });

  app.get(PACKAGES, {
    schema: { tags, summary: 'List packages (container sizes, server plans, volume sizes) with their prices; `kind` narrows it', querystring: PackageFilters, response: { 200: OnePage(PackageBody), ...commonErrors } },
    handler: async (request) => onePage(catalog.listPackages(request.actor, request.query).map(renderPackage)),
  });

  app.get(`${PACKAGES}:id/`, {
    schema: { tags, summary: 'Retrieve a package with its price', params: IdParams, response: { 200: PackageBody, ...commonErrors } },
    handler: async (request) => renderPackage(catalog.getPackage(request.actor, request.params.id)),
  });
}
