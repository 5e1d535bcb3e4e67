/** Where a read ahead asks for permission to hold one more item (see prefetch). */
export interface ReadAhead {
  /**
   * A slot for one item read ahead, or undefined when none is free: then read no further ahead.
   * Call the function returned once the item is taken by its consumer (or dropped); calling it
   * again does nothing.
   */
  tryTake(): (() => void) | undefined;
}

/**
 * Pages read ahead, for the whole process (every read of every stream). A page read ahead that
 * arrives before its read wants it waits parsed (about 0.6 MiB for 500 records), on top of the
 * page the read holds: with K windows of each stream read side by side, and at a backlog's end
 * (read in 1/K pieces), every read had one waiting when the process, not the API, set the pace.
 * So a read reads ahead only with a slot from here, except while the API is the slower one (its
 * last page read ahead was still on its way when wanted: see prefetch), when no page waits.
 * Without a slot, a read asks for its next page once done with the current one, as without
 * prefetching.
 */
export class ReadAheadSlots implements ReadAhead {
  private used = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`read-ahead slots must be a whole number ≥ 0 (got ${size})`);
  }

  /** Slots taken now. */
  get inUse(): number {
    return this.used;
  }

  tryTake(): (() => void) | undefined {
    if (this.used >= this.size) return undefined;
    this.used++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used--;
    };
  }
}

/** Pages read ahead at once in the trigger process (see ReadAheadSlots). */
export const READ_AHEAD_PAGES = 2;
