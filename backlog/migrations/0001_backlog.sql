-- The backlog store as upstream makes it (seed 001, its migration 0011): enum backlog_status,
-- the backlog table with depends_on and acceptance as jsonb. Created only when absent, so a
-- store upstream made is left exactly as it is. Upstream's three indexes and mosaic-top's own
-- additions (claim tokens, spend fields, events, its claim index, the fleet pause) follow in
-- 0003. A store made by mosaic-top round 1 recorded an older 0001 and 0002; 0003 converts it.
DO $$
BEGIN
  IF to_regtype('backlog_status') IS NULL THEN
    CREATE TYPE backlog_status AS ENUM ('ready', 'claimed', 'blocked', 'done');
  END IF;
END $$;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS backlog (
  id text PRIMARY KEY NOT NULL,
  title text NOT NULL,
  body text,
  phase text,
  priority integer DEFAULT 0 NOT NULL,
  status backlog_status DEFAULT 'ready' NOT NULL,
  depends_on jsonb DEFAULT '[]'::jsonb NOT NULL,
  claim_owner text,
  claim_ttl_seconds integer,
  claimed_at timestamp with time zone,
  attempts integer DEFAULT 0 NOT NULL,
  idempotency_key text,
  acceptance jsonb,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
