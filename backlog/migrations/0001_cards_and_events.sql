-- Cards (upstream "Fleet Backlog Conventions", seed 001) plus the claim token used for fencing
-- and the advisory spend fields (upstream goal A4), and the append-only events table.
CREATE SEQUENCE IF NOT EXISTS backlog_claim_token_seq;
--> statement-breakpoint
CREATE TABLE backlog (
  id text PRIMARY KEY NOT NULL,
  title text NOT NULL,
  body text,
  phase text,
  priority integer DEFAULT 0 NOT NULL,
  status text DEFAULT 'ready' NOT NULL CHECK (status IN ('ready', 'claimed', 'blocked', 'done')),
  depends_on text[] DEFAULT '{}'::text[] NOT NULL,
  claim_owner text,
  claim_ttl_seconds integer CHECK (claim_ttl_seconds IS NULL OR claim_ttl_seconds > 0),
  claimed_at timestamptz,
  claim_token bigint,
  attempts integer DEFAULT 0 NOT NULL,
  idempotency_key text UNIQUE,
  acceptance text,
  projected_tokens bigint,
  actual_tokens bigint,
  created_at timestamptz DEFAULT now() NOT NULL,
  updated_at timestamptz DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Claim path: ready cards in claim order.
CREATE INDEX backlog_claim_order_idx ON backlog (priority DESC, created_at, id) WHERE status = 'ready';
--> statement-breakpoint
CREATE INDEX backlog_status_priority_idx ON backlog (status, priority DESC, created_at);
--> statement-breakpoint
-- Reclaim path: claimed cards by claim time.
CREATE INDEX backlog_reclaim_idx ON backlog (claimed_at) WHERE status = 'claimed';
--> statement-breakpoint
CREATE TABLE backlog_events (
  id bigserial PRIMARY KEY,
  at timestamptz DEFAULT now() NOT NULL,
  actor text NOT NULL,
  verb text NOT NULL,
  card_id text,
  detail jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX backlog_events_card_idx ON backlog_events (card_id, id DESC);
