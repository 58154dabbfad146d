import { Type } from 'typebox';
import { Bytes, CreatedTask, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/images/images/: what clients send and receive, in the native API's names. */

export const ImageBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  arch: Type.String(),
  size: Bytes('Size of the root filesystem'),
  status: Type.String({ description: 'pending, ready or error.' }),
  source: Type.String({ description: 'builtin, upload or snapshot.' }),
  snapshot: Type.Union([Uuid, Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why the image could not be made.' }),
  public: Type.Boolean({ description: 'Built-in images are public: every organization sees them.' }),
  organization: Type.Union([Uuid, Type.Null()]),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ImageCreated = Type.Intersect([ImageBody, Type.Object(CreatedTask)]);

export const ImagesPost = Type.Object({ name: Type.String({ maxLength: 200 }), snapshot: Type.String({ maxLength: 200 }) });
