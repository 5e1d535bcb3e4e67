import { gzipSync, gunzipSync, constants as zlibConstants } from 'node:zlib';
import { benchRecords } from './cpu-limit';
import { StreamIdentity } from '../trigger_fetch_new_logs/record-identity';

/**
 * The least CPU any collector of this design spends per record, measured like the CPU limit
 * (cpu-limit.ts) on the same generated records: per page, gunzip (the API's pages come gzipped),
 * decode, JSON.parse; per record, JSON.stringify and the SHA-1 identity (the product's own
 * StreamIdentity); per page, one intake body. No HTTP, no dedup ledger, no checkpoint, no
 * metrics: what is left when everything the trigger adds for its guarantees costs nothing.
 * Divided by the CPU limit it is the ceiling of the end-to-end ratio: a floor above it cannot
 * be met without dropping one of these steps.
 */
export function pipelineCeilingRate(seed: number, records = 60_000): number {
  const all = benchRecords(seed, records);
  const pages: Buffer[] = [];
  for (let i = 0; i < all.length; i += 500) {
    const text = JSON.stringify({ logs: all.slice(i, i + 500) });
    // The simulator's own setting: what the trigger inflates in the end-to-end bench.
    pages.push(gzipSync(Buffer.from(text), { level: zlibConstants.Z_BEST_SPEED }));
  }
  const identity = new StreamIdentity('accepted_traffic');
  const once = (): number => {
    const cpu = process.cpuUsage();
    let bytes = 0;
    for (const page of pages) {
      const { logs } = JSON.parse(gunzipSync(page).toString('utf8')) as { logs: unknown[] };
      const events: string[] = [];
      for (const record of logs) {
        const json = JSON.stringify(record);
        if (identity.of(json).length > 0) events.push(json);
      }
      bytes += Buffer.from(JSON.stringify({ intake_key: 'bench', jsons: events })).length;
    }
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    return bytes === 0 || cpuSeconds <= 0 ? 0 : all.length / cpuSeconds;
  };
  once();
  // The best of three, as for the CPU limit.
  return Math.max(once(), once(), once());
}
