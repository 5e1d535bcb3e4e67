/**
 * Pure arithmetic over the simulator's per-record timeline (TmesSimulator.timeline()): which
 * records a collector had to deliver, which it may have delivered, and how delivered records
 * compare with both, counting identical twins as many times as the API lists them.
 */
import type { RecordTimeline, TmesRecord, VisibilityBucket } from '../../simulator';

/** The lateness distribution of issue 9: 70 % under 5 s, 25 % 5 s–2 min, 5 % 2–20 min. */
export const ISSUE9_VISIBILITY: readonly VisibilityBucket[] = [
  { share: 0.7, minMs: 0, maxMs: 5_000 },
  { share: 0.25, minMs: 5_000, maxMs: 120_000 },
  { share: 0.05, minMs: 120_000, maxMs: 1_200_000 },
];

/** How long after its window's time (filter time) a record became listable. */
export function latenessMs(entry: RecordTimeline): number {
  return entry.visibleAt - entry.filterTime;
}

export interface LateWindowQuestion {
  /** The collector collects records up to this lateness (its late_window). */
  lateWindowMs: number;
  /** The period considered: records with fromMs <= filter time <= untilMs. */
  untilMs: number;
  fromMs?: number;
  /** The clock at the end of the run: nothing listed later can have been read. */
  atMs: number;
}

export interface LateWindowAnswer {
  /** Listed by atMs and at most lateWindowMs late: a correct collector delivered each. */
  must: TmesRecord[];
  /** Everything listed by atMs in the period, however late: delivering more is an invention. */
  may: TmesRecord[];
}

export function lateWindowSets(timeline: readonly RecordTimeline[], q: LateWindowQuestion): LateWindowAnswer {
  const from = q.fromMs ?? Number.NEGATIVE_INFINITY;
  const may = timeline.filter(
    (e) => e.filterTime >= from && e.filterTime <= q.untilMs && e.visibleAt <= q.atMs,
  );
  return {
    must: may.filter((e) => latenessMs(e) <= q.lateWindowMs).map((e) => e.record),
    may: may.map((e) => e.record),
  };
}

/** JSON with object keys sorted at every depth: equal records, equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return Object.fromEntries(entries.map(([key, inner]) => [key, sortKeys(inner)]));
}

/** How many times each record (by `key`) occurs: twins count twice. */
export function multiset(
  records: readonly unknown[],
  key: (record: unknown) => string = canonical,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    const k = key(record);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export interface DeliveryCheck {
  /** Records of `must` delivered fewer times than listed (one entry per missing copy). */
  missing: string[];
  /** Records delivered more times than `may` lists them (one entry per extra copy). */
  extra: string[];
}

/** Compares delivered records with a LateWindowAnswer; both lists empty means exactly once. */
export function checkDelivery(
  delivered: readonly unknown[],
  expected: LateWindowAnswer,
  key: (record: unknown) => string = canonical,
): DeliveryCheck {
  const got = multiset(delivered, key);
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [k, n] of multiset(expected.must, key)) {
    for (let i = got.get(k) ?? 0; i < n; i++) missing.push(k);
  }
  const allowed = multiset(expected.may, key);
  for (const [k, n] of got) for (let i = allowed.get(k) ?? 0; i < n; i++) extra.push(k);
  return { missing, extra };
}
