/**
 * Server-side read cursors for 'handle' tokens: the client holds one string for a whole read,
 * the server holds the position and advances it at every request it answers, whether or not
 * the answer reaches the client.
 */
import { hash32 } from './seeded-random';
import type { PageToken } from './tmes-token';

interface Cursor {
  read: PageToken;
  /** Last time the handle was issued or used: its life counts from here. */
  usedAt: number;
}

export type CursorLookup = PageToken | 'unknown' | 'expired';

export class HandleCursors {
  private readonly open = new Map<number, Cursor>();
  private opened = 0;

  constructor(private readonly seed: () => number) {}

  /** Stores the read's position under `id`, or under a new handle number when `id` is undefined. */
  save(id: number | undefined, read: PageToken, now: number): number {
    const handle = id ?? this.newId();
    this.open.set(handle, { read, usedAt: now });
    return handle;
  }

  /**
   * The position of read `id`. An exhausted read stays known (a retried last request gets 204,
   * not an error) until it expires.
   */
  lookup(id: number, now: number, lifeMs: number): CursorLookup {
    const cursor = this.open.get(id);
    if (cursor === undefined) return 'unknown';
    if (now - cursor.usedAt > lifeMs) {
      this.open.delete(id);
      return 'expired';
    }
    return cursor.read;
  }

  private newId(): number {
    let id: number;
    do id = hash32(this.seed(), this.opened++, 0x4a4d);
    while (this.open.has(id));
    return id;
  }
}
