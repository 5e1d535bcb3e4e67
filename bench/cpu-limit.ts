import { generateDataset } from '../simulator';

/**
 * The CPU limit of forwarding raw records on this machine, now: how many records per second
 * one core turns from page text into event text with nothing but JSON.parse (pages of 500)
 * and JSON.stringify (each record). End-to-end rates are divided by it, so the figure means
 * the same on a fast idle machine and a slow busy one.
 */
export function jsonRoundTripRate(seed: number, records = 60_000): number {
  const now = Date.now();
  const dataset = generateDataset({
    start: now - 24 * 3_600_000,
    end: now,
    counts: {
      accepted_traffic: Math.round(records * 0.6),
      blocked_traffic: Math.round(records * 0.2),
      policy_events: Math.round(records * 0.2),
    },
    seed,
  });
  const all = [...dataset.accepted_traffic, ...dataset.blocked_traffic, ...dataset.policy_events];
  const pages: string[] = [];
  for (let i = 0; i < all.length; i += 500) pages.push(JSON.stringify({ logs: all.slice(i, i + 500) }));
  const once = (): number => {
    const started = process.hrtime.bigint();
    let bytes = 0;
    for (const page of pages) {
      const { logs } = JSON.parse(page) as { logs: unknown[] };
      for (const record of logs) bytes += JSON.stringify(record).length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return bytes > 0 ? all.length / seconds : 0;
  };
  once();
  // The best of three: the limit is what the machine can do, load is what the ratio absorbs.
  return Math.max(once(), once(), once());
}
