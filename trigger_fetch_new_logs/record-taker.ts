import type { ReadKind, TimeRange } from './collector-context';
import type { IdentityLedger } from './identity-ledger';
import type { PendingBatch } from './pending-batch';
import type { RecordClaims } from './record-claims';
import type { RecordEncoder } from './record-encoder';
import { StreamIdentity, recordKey, recordTime, safeRecordForm, serializeRecord } from './record-identity';
import type { StreamName } from './streams';

/**
 * Decides, record by record, what a read forwards. The n-th occurrence of an identity in a read
 * goes out only if more than (delivered + claimed) occurrences exist: identical records go out
 * as many times as the API lists them, re-reads drop exactly what was delivered, and windows
 * read side by side never both send the records of their common edge.
 */
export class RecordTaker {
  private readonly identity: StreamIdentity;

  constructor(
    private readonly name: StreamName,
    private readonly ledger: IdentityLedger,
    private readonly claims: RecordClaims,
    private readonly encoder: RecordEncoder,
    /** "Now" for lateness: the TMES server's clock when known. */
    private readonly now: () => number,
  ) {
    this.identity = new StreamIdentity(name);
  }

  /**
   * Queues `record` unless it was delivered (or claimed) as often as this read listed it
   * (`occurrences`: the read's own count per identity). False: a duplicate, dropped.
   */
  take(
    record: unknown,
    range: TimeRange,
    kind: ReadKind,
    occurrences: Map<string, number>,
    batch: PendingBatch,
  ): boolean {
    const recordAt = recordTime(record);
    // No usable time: it ages out with the range it was read in.
    const time = Math.min(recordAt, range.end);
    // One serialisation: the identity is hashed from it, and in raw output it is the event.
    let json: string | undefined;
    let key: string;
    let poison: unknown;
    try {
      json = serializeRecord(record);
      key = this.identity.of(json);
    } catch (error) {
      poison = error;
      key = recordKey(this.name, safeRecordForm(record));
    }
    const n = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, n);
    if (n <= this.ledger.count(key) + this.claims.count(key)) return false;
    const event = this.encoder.encodeSafely(record, json, poison);
    if (event === undefined) return true;
    this.claims.claim(key);
    // Only the late-log passes measure lateness: a set-aside window read again hours later
    // ('retry') finds records the API listed on time, which are not late logs.
    const lateSeconds =
      kind !== 'reread' ? undefined : Math.max(0, (this.now() - Math.min(recordAt, this.now())) / 1000);
    batch.add(key, time, event, lateSeconds);
    return true;
  }
}
