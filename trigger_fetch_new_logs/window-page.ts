/**
 * One page of a window's read, as the TMES client yields it to the stream collector.
 *
 * A read can be restarted from the window's start (a token expired or was refused after the
 * read paused, or was held too long): the client then yields a page with `restart: true`
 * (its `logs` may be empty). Every page yielded before it in this read is void for counting
 * purposes: the consumer resets its per-read occurrence counts, and its dedup (what was
 * already delivered) drops the records it sees again.
 */
export interface WindowPage {
  readonly logs: unknown[];
  readonly restart: boolean;
}
