/** The refusal of a verb on a claim that is no longer live (renew, complete): 'fenced' naming why. */
import type { BacklogDb } from '../db.js';
import { BacklogError } from '../types.js';
import { findCard } from './fragments.js';

/**
 * Explains why `owner`'s claim on `id` (with `token` when given) is not live, as a BacklogError:
 * 'not_found' when there is no card, else 'fenced' — done, not claimed, claimed by another
 * owner, another token, expired (how long ago), or changed concurrently.
 */
export async function fencedError(db: BacklogDb, id: string, owner: string, token: number | undefined, verb: string): Promise<BacklogError> {
  const card = await findCard(db, id);
  if (!card) return new BacklogError('not_found', `no card ${id}`);
  const refused = `${verb} refused for ${owner} on ${id}`;
  if (card.status === 'done') return new BacklogError('fenced', `${refused}: the card is already done`);
  if (card.status !== 'claimed')
    return new BacklogError('fenced', `${refused}: the card is ${card.status} (the claim expired and was reclaimed, or was never held)`);
  if (card.claimOwner !== owner) return new BacklogError('fenced', `${refused}: the card is claimed by ${card.claimOwner} (token ${card.claimToken})`);
  if (token !== undefined && card.claimToken !== token)
    return new BacklogError('fenced', `${refused}: token ${token} is not the live claim's token (${card.claimToken})`);
  if ((card.secondsLeft ?? 0) <= 0) return new BacklogError('fenced', `${refused}: the claim expired ${Math.round(-(card.secondsLeft ?? 0))} s ago`);
  return new BacklogError('fenced', `${refused}: the claim changed concurrently`);
}
