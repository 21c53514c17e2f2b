/**
 * Claude Code's spend records as its transcripts hold them (docs/spend.md; shared/spec/runtimes.md,
 * spend records): one JSON line per assistant message, its usage in tokens.
 */

/** Tokens of one assistant message: [input, output, cache read, cache write]. */
export type ClaudeUsage = [number, number, number, number];

/**
 * One assistant record line (no newline) of message `id` in session `sessionId`, at `at`, with
 * `usage` tokens, model `claude-opus-4-8`, request `req-<id>`.
 */
export function claudeRecord(id: string, usage: ClaudeUsage, at: Date, sessionId = 's-1'): string {
  return JSON.stringify({
    type: 'assistant',
    sessionId,
    requestId: `req-${id}`,
    timestamp: at.toISOString(),
    message: {
      id,
      model: 'claude-opus-4-8',
      usage: { input_tokens: usage[0], output_tokens: usage[1], cache_read_input_tokens: usage[2], cache_creation_input_tokens: usage[3] },
    },
  });
}
