import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import { newId, nowIso } from '../clock.ts';

/**
 * Gives token `to` the ACL of token `from`: its rules, and its being bound by them. A token bound
 * by an ACL hands it on to every token it makes, so it cannot mint a token that reaches further.
 */
export async function inheritTokenAcl(db: Kysely<Database>, from: string, to: string): Promise<void> {
  const source = await db.selectFrom('api_tokens').select('acl_bound').where('id', '=', from).executeTakeFirst();
  if (!source || source.acl_bound !== 1) return;
  const rules = await db.selectFrom('token_acls').selectAll().where('token_id', '=', from).execute();
  if (rules.length) await db.insertInto('token_acls').values(rules.map((r) => ({ ...r, id: newId(), token_id: to, created_at: nowIso() }))).execute();
  await db.updateTable('api_tokens').set({ acl_bound: 1 }).where('id', '=', to).execute();
}
