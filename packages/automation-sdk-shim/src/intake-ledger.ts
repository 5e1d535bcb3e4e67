import { DeliveryError } from './errors';

/** What became of one event of a push (one byte per event: pushes hold tens of thousands). */
const Fate = {
  /** Not (yet) acknowledged: the caller must send it again. */
  Pending: 0,
  Acknowledged: 1,
  /** Over the per-event limit: never sent. */
  Oversized: 2,
  /** Refused by the intake (400/413) on its own: discarded. */
  Refused: 3,
} as const;
type Fate = (typeof Fate)[keyof typeof Fate];

/** The outcome of a push that resolved: every event acknowledged or deliberately discarded. */
export interface PushResult {
  /**
   * The ids the intake returned, in input order: one per acknowledged event, except for events
   * the intake accepted without naming them (see `unidentified`). Discarded events have none.
   */
  eventIds: string[];
  /** Events over the per-event limit, not sent (each one logged). */
  discarded: number;
  /** Events the intake refused with 400/413 on their own, discarded (each one logged). */
  refused: number;
  /**
   * Events sent again after an attempt whose answer was lost (timeout, reset, 502/504): the
   * intake may hold them twice. An upper bound, counted once per re-send.
   */
  possiblyDuplicated: number;
  /** Events acknowledged by a 2xx whose `event_ids` did not name them (absent or short). */
  unidentified: number;
}

/**
 * The fate of every event of one push, by its index in the pushed list: the single source of
 * both the result and the DeliveryError, so the two can never disagree on what was delivered.
 */
export class PushLedger {
  private readonly fates: Uint8Array;
  private readonly ids: (string | undefined)[];
  private pending: number;
  private oversized = 0;
  private refused = 0;
  private unidentified = 0;
  private possiblyDuplicated = 0;
  private firstFailure: unknown;
  private hasFailure = false;
  /** Requests of this push the intake accepted: proof that it accepts this client's events. */
  acceptedRequests = 0;
  private readonly warned = new Set<string>();

  constructor(readonly total: number) {
    this.fates = new Uint8Array(total);
    this.ids = new Array<string | undefined>(total);
    this.pending = total;
  }

  markOversized(indexes: readonly number[]): void {
    for (const index of indexes) this.settle(index, Fate.Oversized);
    this.oversized += indexes.length;
  }

  /** The intake accepted these events; `ids` may be short (the missing ones are unidentified). */
  markAcknowledged(indexes: readonly number[], ids: readonly string[]): void {
    indexes.forEach((index, position) => {
      this.settle(index, Fate.Acknowledged);
      this.ids[index] = ids[position];
    });
    this.unidentified += Math.max(0, indexes.length - ids.length);
    this.acceptedRequests++;
  }

  get refusedEvents(): number {
    return this.refused;
  }

  markRefused(index: number): void {
    this.settle(index, Fate.Refused);
    this.refused++;
  }

  /** Events the intake may now hold twice (sent again after a lost answer). */
  countPossiblyDuplicated(count: number): void {
    this.possiblyDuplicated += count;
  }

  /** Remembers why events stayed pending; the first reason is the DeliveryError's cause. */
  recordFailure(error: unknown): void {
    if (this.hasFailure) return;
    this.hasFailure = true;
    this.firstFailure = error;
  }

  /** True the first time `topic` is asked about in this push: one warning per push and topic. */
  firstTime(topic: string): boolean {
    if (this.warned.has(topic)) return false;
    this.warned.add(topic);
    return true;
  }

  get complete(): boolean {
    return this.pending === 0;
  }

  result(): PushResult {
    const eventIds: string[] = [];
    for (const id of this.ids) if (id !== undefined) eventIds.push(id);
    return {
      eventIds,
      discarded: this.oversized,
      refused: this.refused,
      possiblyDuplicated: this.possiblyDuplicated,
      unidentified: this.unidentified,
    };
  }

  /** The error for a push that left events pending: what to send again, and what not. */
  deliveryError(): DeliveryError {
    const acknowledged: number[] = [];
    this.fates.forEach((fate, index) => {
      if (fate !== Fate.Pending) acknowledged.push(index);
    });
    const first = this.firstFailure;
    const reason = first instanceof Error ? first.message : String(first);
    return new DeliveryError(
      `${this.pending} of ${this.total} events were not delivered to the Sekoia intake and must be sent again (the ${acknowledged.length} others were acknowledged or discarded): ${reason}`,
      this.pending,
      { cause: first, acknowledged },
    );
  }

  private settle(index: number, fate: Fate): void {
    // A settled event never changes fate: a second answer cannot un-deliver it.
    if (this.fates[index] !== Fate.Pending) return;
    this.fates[index] = fate;
    this.pending--;
  }
}
