-- One store, both tools (issue 12). Runs on every store: fresh (0001 just made upstream's
-- table), made by upstream (its table untouched apart from the additions below), or made by
-- mosaic-top round 1 (status text + CHECK, depends_on text[], acceptance text, deps_pending):
-- that one is converted in place to upstream's types, every card, dependency and event kept.
DO $$
DECLARE
  c record;
BEGIN
  IF to_regtype('backlog_status') IS NULL THEN
    CREATE TYPE backlog_status AS ENUM ('ready', 'claimed', 'blocked', 'done');
  END IF;
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'backlog'
               AND column_name = 'depends_on' AND data_type = 'ARRAY') THEN
    -- Round-1 indexes (one of them shares a name with upstream's, not its columns).
    DROP INDEX IF EXISTS backlog_claim_order_idx;
    DROP INDEX IF EXISTS backlog_status_priority_idx;
    DROP INDEX IF EXISTS backlog_reclaim_idx;
    DROP INDEX IF EXISTS backlog_depends_on_idx;
    -- Round-1 CHECKs (status, TTL) and the UNIQUE constraint upstream has as an index instead.
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = to_regclass('backlog') AND contype IN ('c', 'u') LOOP
      EXECUTE format('ALTER TABLE backlog DROP CONSTRAINT %I', c.conname);
    END LOOP;
    ALTER TABLE backlog ALTER COLUMN status DROP DEFAULT;
    ALTER TABLE backlog ALTER COLUMN status TYPE backlog_status USING status::backlog_status;
    ALTER TABLE backlog ALTER COLUMN status SET DEFAULT 'ready';
    ALTER TABLE backlog ALTER COLUMN depends_on DROP DEFAULT;
    ALTER TABLE backlog ALTER COLUMN depends_on TYPE jsonb USING to_jsonb(depends_on);
    ALTER TABLE backlog ALTER COLUMN depends_on SET DEFAULT '[]'::jsonb;
    -- Free-text acceptance becomes what upstream's CLI stores for text that is not JSON:
    -- the list of its non-empty lines / ';'-separated items.
    ALTER TABLE backlog ALTER COLUMN acceptance TYPE jsonb USING
      CASE WHEN acceptance IS NULL OR btrim(acceptance, E' \t\r\n;') = '' THEN NULL
           ELSE to_jsonb(array_remove(regexp_split_to_array(btrim(acceptance, E' \t\r\n;'), E'\\s*[\\n;]+\\s*'), ''))
      END;
    ALTER TABLE backlog DROP COLUMN IF EXISTS deps_pending;
    -- Round-1 claims keep their fencing token (see claim_token_attempts below).
    ALTER TABLE backlog ADD COLUMN IF NOT EXISTS claim_token_attempts integer;
    UPDATE backlog SET claim_token_attempts = attempts WHERE claim_token IS NOT NULL;
  END IF;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS backlog_status_priority_idx ON backlog USING btree (status, priority);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS backlog_status_claimed_at_idx ON backlog USING btree (status, claimed_at);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS backlog_idempotency_key_idx ON backlog USING btree (idempotency_key);
--> statement-breakpoint
-- mosaic-top's additions beside upstream's columns, all nullable (upstream never writes them):
-- claim_token, the fencing token of mosaic-top's last claim; claim_token_attempts, the card's
-- attempts when that token was issued (a claim by upstream bumps attempts, so an older token
-- is recognisably stale); the advisory spend fields (upstream goal A4).
ALTER TABLE backlog ADD COLUMN IF NOT EXISTS claim_token bigint;
--> statement-breakpoint
ALTER TABLE backlog ADD COLUMN IF NOT EXISTS claim_token_attempts integer;
--> statement-breakpoint
ALTER TABLE backlog ADD COLUMN IF NOT EXISTS projected_tokens bigint;
--> statement-breakpoint
ALTER TABLE backlog ADD COLUMN IF NOT EXISTS actual_tokens bigint;
--> statement-breakpoint
CREATE SEQUENCE IF NOT EXISTS backlog_claim_token_seq;
--> statement-breakpoint
-- Claim path: ready cards in claim order (mosaic-top's index, under a name of its own).
CREATE INDEX IF NOT EXISTS mosaic_top_backlog_claim_idx ON backlog (priority DESC, created_at, id) WHERE status = 'ready';
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS backlog_events (
  id bigserial PRIMARY KEY,
  at timestamptz DEFAULT now() NOT NULL,
  actor text NOT NULL,
  verb text NOT NULL,
  card_id text,
  detail jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS backlog_events_card_idx ON backlog_events (card_id, id DESC);
--> statement-breakpoint
-- The fleet-wide pause of a shared store (server tier): at most one row.
CREATE TABLE IF NOT EXISTS backlog_fleet_pause (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  at timestamptz DEFAULT now() NOT NULL,
  paused_by text,
  reason text
);
