/** A batch taken for forwarding: events and the identities (and times) they stand for. */
export interface TakenBatch {
  readonly keys: string[];
  readonly times: number[];
  readonly events: string[];
  /** Found by a re-read pass: how long after its time (seconds), NaN for the others; by index. */
  readonly late: number[];
}

/** Events waiting to be forwarded, as parallel arrays (no object per record). */
export class PendingBatch {
  private keys: string[] = [];
  private times: number[] = [];
  private events: string[] = [];
  private late: number[] = [];
  private length = 0;

  get size(): number {
    return this.events.length;
  }

  /** UTF-16 code units of the events queued: what they hold in memory, near enough. */
  get bytes(): number {
    return this.length;
  }

  add(key: string, time: number, event: string, lateSeconds: number | undefined): void {
    this.keys.push(key);
    this.times.push(time);
    this.events.push(event);
    this.late.push(lateSeconds ?? Number.NaN);
    this.length += event.length;
  }

  take(): TakenBatch & { select(keep: (index: number) => boolean): TakenBatch } {
    const { keys, times, events, late } = this;
    this.keys = [];
    this.times = [];
    this.events = [];
    this.late = [];
    this.length = 0;
    return {
      keys,
      times,
      events,
      late,
      select: (keep) => {
        const part: TakenBatch = { keys: [], times: [], events: [], late: [] };
        keys.forEach((key, i) => {
          if (!keep(i)) return;
          part.keys.push(key);
          part.times.push(times[i] ?? Number.POSITIVE_INFINITY);
          part.events.push(events[i] ?? '');
          part.late.push(late[i] ?? Number.NaN);
        });
        return part;
      },
    };
  }
}

export interface BatchLimits {
  /** A batch is forwarded once it holds this many events... */
  readonly batchEvents: number;
  /** ...or this many bytes. */
  readonly batchBytes: number;
}

/** One read's part of a BatchBudget, held from the read's start to its end. */
export interface BatchShare {
  /** The batch reached this read's share: forward it before queueing more. */
  full(batch: { readonly size: number; readonly bytes: number }): boolean;
  /** The read ended: its share goes back to the others (idempotent). */
  close(): void;
}

/**
 * The batch allowance (batchEvents, batchBytes), shared by the reads in flight: one stream's, or
 * the whole process's when the trigger passes one budget to every stream. Each read queues events
 * until its batch holds 1/n of the allowance, n being the reads open now: K windows read side by
 * side hold, pending and being forwarded, about what one sequential read holds, instead of K full
 * batches (K × 4 MiB, and the intake push's copies of each). Alone, a read gets the whole
 * allowance: max_parallel_requests 1 batches as before. A share is never cut below 1/MAX_SPLIT of
 * the allowance: with many reads open (three streams at a high K), ever smaller batches would cost
 * an intake request, a journal append and a checkpoint save each, for little memory saved.
 */
export const MAX_SPLIT = 10;

export class BatchBudget {
  private open_ = 0;

  constructor(private readonly limits: BatchLimits) {}

  /** Reads holding a share now. */
  get reads(): number {
    return this.open_;
  }

  open(): BatchShare {
    this.open_++;
    let closed = false;
    return {
      full: (batch) => {
        const n = Math.min(MAX_SPLIT, Math.max(1, this.open_));
        return (
          batch.size >= Math.ceil(this.limits.batchEvents / n) ||
          batch.bytes >= Math.ceil(this.limits.batchBytes / n)
        );
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.open_--;
      },
    };
  }
}
