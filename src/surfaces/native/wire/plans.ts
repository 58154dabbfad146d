import { Type } from 'typebox';
import { Bytes, Uuid } from './common.ts';

/** The wire schemas of /api/servers/plans/: what clients send and receive, in the native API's names. */

export const PlanBody = Type.Object({ id: Uuid, name: Type.String(), vcpus: Type.Integer(), memory: Bytes('Memory limit') });
