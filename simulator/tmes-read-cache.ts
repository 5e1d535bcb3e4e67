/**
 * Per-record work kept between requests: each record's visible-at time, and the store indices
 * a read selected. Without it every page of a read re-checks the whole window (O(window) per
 * page); with it a read pays that once. Entries are keyed by the store's version and dropped
 * whenever the settings object changes (set()), so a cached answer is never stale.
 */
import type { StreamName } from './dataset';

const READS_KEPT = 32;

export class ReadCache {
  private owner: object | undefined;
  private readonly visibleAt = new Map<StreamName, { version: number; column: Float64Array }>();
  private readonly selections = new Map<string, readonly number[]>();

  /** Forgets everything computed under other settings. */
  settingsAre(settings: object): void {
    if (settings === this.owner) return;
    this.owner = settings;
    this.visibleAt.clear();
    this.selections.clear();
  }

  visibleAtColumn(stream: StreamName, version: number, compute: () => Float64Array): Float64Array {
    const cached = this.visibleAt.get(stream);
    if (cached?.version === version) return cached.column;
    const column = compute();
    this.visibleAt.set(stream, { version, column });
    return column;
  }

  /** The selection under `key`, computed once; the least recently used read is dropped first. */
  selection(key: string, compute: () => number[]): readonly number[] {
    const hit = this.selections.get(key);
    if (hit !== undefined) {
      this.selections.delete(key);
      this.selections.set(key, hit);
      return hit;
    }
    const value = compute();
    this.selections.set(key, value);
    if (this.selections.size > READS_KEPT) {
      const oldest = this.selections.keys().next().value;
      if (oldest !== undefined) this.selections.delete(oldest);
    }
    return value;
  }
}
