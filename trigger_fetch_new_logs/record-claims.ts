/**
 * Occurrences queued or being forwarded, not yet acknowledged, by every read in flight in a
 * stream: windows read side by side overlap at their edges, and a record one read has claimed
 * must count for the others, or it would go out twice.
 */
export class RecordClaims {
  private readonly claims = new Map<string, number>();

  /** Occurrences of `key` claimed by reads in flight. */
  count(key: string): number {
    return this.claims.get(key) ?? 0;
  }

  claim(key: string): void {
    this.claims.set(key, this.count(key) + 1);
  }

  /** Drops one claim per key listed. */
  release(keys: readonly string[]): void {
    for (const key of keys) {
      const left = this.count(key) - 1;
      if (left > 0) this.claims.set(key, left);
      else this.claims.delete(key);
    }
  }
}
