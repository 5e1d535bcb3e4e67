import type { RereadRange } from './checkpoint';

const MINUTE = 60_000;

/**
 * When each period is read again, as ages of its end: about 2 and 10 minutes, then
 * `late_window` (only those below it). Roughly geometric: most late logs are seconds to
 * a couple of minutes late, so the 2-minute pass catches them soon after; the 10-minute
 * pass catches the long tail; the last pass makes the promise (a log visible within
 * late_window of its time is collected). Three passes at most, whatever late_window is,
 * which is what bounds the extra requests (see rereadHoldMs).
 */
export function rereadAges(lateWindowMs: number): number[] {
  if (lateWindowMs <= 0) return [];
  return [...new Set([2 * MINUTE, 10 * MINUTE].filter((a) => a < lateWindowMs).concat(lateWindowMs))];
}

/**
 * How long ranges of a pass gather before the pass reads them together: a fifth of its age
 * (24 s, 2 min, 6 min for 2, 10, 30 min), at least one poll. Each pass reads every period
 * once; coalescing its ranges means it costs at most one request per `hold` on sparse
 * traffic, and no more pages than the first read of the same records on dense traffic
 * (a page count is subadditive: ceil(a + b) <= ceil(a) + ceil(b)).
 */
function rereadHoldMs(ageMs: number, frequencyMs: number): number {
  return Math.max(frequencyMs, Math.round(ageMs / 5));
}

/**
 * Adds a range just read by pass `pass - 1` (or first read, `pass` = 0 candidates) to the
 * pending re-reads. Passes whose age the range already had when read are skipped: that read
 * already saw everything that late. Adjacent ranges of the same pass merge while the merged
 * range stays within the pass's hold (a range must not keep growing, or never become due).
 */
export function scheduleReread(
  rereads: readonly RereadRange[],
  range: { start: number; end: number },
  fromPass: number,
  readAt: number,
  ages: readonly number[],
  frequencyMs: number,
  toleranceMs: number,
): RereadRange[] {
  let pass = fromPass;
  while (readAt - range.end >= (ages[pass] ?? 0) && pass < ages.length) pass++;
  const age = ages[pass];
  if (age === undefined) return [...rereads];
  const hold = rereadHoldMs(age, frequencyMs);
  const result = [...rereads];
  const neighbour = result.findIndex(
    (r) =>
      r.pass === pass &&
      range.start <= r.end + toleranceMs &&
      r.start <= range.end + toleranceMs &&
      Math.max(r.end, range.end) - Math.min(r.start, range.start) <= hold,
  );
  const r = result[neighbour];
  if (r === undefined) result.push({ start: range.start, end: range.end, pass });
  else result[neighbour] = { start: Math.min(r.start, range.start), end: Math.max(r.end, range.end), pass };
  return result.sort((a, b) => a.start - b.start || a.pass - b.pass);
}

/**
 * The re-read to do now: the oldest range whose pass is due (its end is `age` old) and whose
 * pass has waited its hold, so neighbours could join it. Undefined when none.
 */
export function dueReread(
  rereads: readonly RereadRange[],
  now: number,
  ages: readonly number[],
  frequencyMs: number,
): RereadRange | undefined {
  let best: RereadRange | undefined;
  for (const r of rereads) {
    const age = ages[r.pass];
    if (age === undefined) continue;
    const hold = rereadHoldMs(age, frequencyMs);
    // Due once its end is `age` old; waits so that the ranges that come after it in the hold
    // join it, unless it already spans the hold.
    const dueAt = r.end + age + Math.max(0, hold - (r.end - r.start));
    if (now >= dueAt && (best === undefined || r.start < best.start)) best = r;
  }
  return best;
}
