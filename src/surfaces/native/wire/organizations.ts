import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/iam/organizations/: what clients send and receive, in the native API's names. */

export const OrganizationBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  parent: Type.Union([Uuid, Type.Null()], { description: 'Parent organization; null for a root.' }),
  url: Type.String({ description: 'Absolute URL of this organization.' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const writable = {
  name: Type.String({ maxLength: 100 }),
  slug: Type.String({ maxLength: 63, description: 'Lowercase letters, digits and hyphens; generated from the name when omitted.' }),
  parent: Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { description: 'Parent organization id; defaults to the acting organization.' }),
};

export const OrganizationsPost = Type.Object({ name: writable.name, slug: Type.Optional(writable.slug), parent: Type.Optional(writable.parent) });

export const OrganizationPut = OrganizationsPost;

export const OrganizationPatch = Type.Partial(OrganizationsPost);
