/** The `get` verb: one card by id. */
import type { BacklogDb } from '../db.js';
import { BacklogError, type Card } from '../types.js';
import { assertName } from '../validate.js';
import { findCard } from './fragments.js';

/** The card `id`; throws BacklogError('invalid') for a malformed id, 'not_found' when there is none. */
export async function getCard(db: BacklogDb, id: string): Promise<Card> {
  assertName(id, 'card id');
  const card = await findCard(db, id);
  if (!card) throw new BacklogError('not_found', `no card ${id}`);
  return card;
}
