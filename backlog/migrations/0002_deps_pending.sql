-- Claim speed: a denormalized count of each card's dependencies that are not done yet, kept
-- by create/link/import (+1 per unmet dependency) and complete (-1 on every dependent), so the
-- claim index holds only claimable cards instead of re-checking blocked ones on every claim.
-- The claim statement still checks the dependencies themselves (a safety net).
ALTER TABLE backlog ADD COLUMN deps_pending integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
UPDATE backlog c SET deps_pending = (
  SELECT count(*) FROM unnest(c.depends_on) AS d(dep)
  WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep AND p.status = 'done')
);
--> statement-breakpoint
DROP INDEX IF EXISTS backlog_claim_order_idx;
--> statement-breakpoint
CREATE INDEX backlog_claim_order_idx ON backlog (priority DESC, created_at, id) WHERE status = 'ready' AND deps_pending = 0;
--> statement-breakpoint
-- complete: find the dependents of a card (depends_on @> ARRAY[id]).
CREATE INDEX backlog_depends_on_idx ON backlog USING gin (depends_on);
