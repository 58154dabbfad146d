import { Type } from 'typebox';
import { Nullable, Uuid } from './common.ts';

/** The wire schemas of /api/catalog/: locations and packages with their prices. */

export const LocationBody = Type.Object({
  id: Uuid,
  name: Type.String({ description: 'The region (NIMBUS_REGION).' }),
  zones: Type.Array(Type.Object({ id: Uuid, name: Type.String({ description: 'A machine apps and servers run on.' }) })),
});

export const PriceBody = Type.Object({
  amount: Type.String({ description: 'A decimal string, exact (never a float).', examples: ['10.00'] }),
  currency: Type.String({ description: 'ISO 4217 (NIMBUS_CURRENCY).', examples: ['USD'] }),
  term: Type.String({ description: 'What the amount pays for: `month`.' }),
});

export const PackageBody = Type.Object({
  id: Uuid,
  kind: Type.String({ description: 'container (an app process size), server (a plan) or volume (a size).' }),
  name: Type.String(),
  cpu: Nullable(Type.Number({ description: 'A share of one core (containers), vCPUs (servers).' })),
  memory: Nullable(Type.Integer({ description: 'Memory limit, in bytes.' })),
  storage: Nullable(Type.Integer({ description: 'Size, in bytes (volumes).' })),
  price: PriceBody,
});

export const PackageFilters = Type.Object({ kind: Type.Optional(Type.String({ maxLength: 20 })) });
