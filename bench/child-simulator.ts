/**
 * The TMES simulator in a process of its own (forked by simulator-process.ts): holding a
 * million records costs it ~1.7 GB, which must not count against the trigger's memory, and
 * serving pages costs CPU that must not count against the trigger's core.
 */
import { STREAMS, TmesSimulator, generateDataset, type StreamName } from '../simulator';

export interface SimulatorSpec {
  counts: Record<StreamName, number>;
  /** Records are spread over [now - spanMs - endAgoMs, now - endAgoMs]. */
  spanMs: number;
  endAgoMs: number;
  seed: number;
  latencyMs: number;
  /** Requests per second the simulated tenant allows (token bucket, then 429 + Retry-After). */
  rateLimit?: { requestsPerSecond: number; retryAfterSeconds?: number };
}

export type SimulatorReport =
  | { type: 'ready'; url: string; stored: number; generatedMs: number; rssBytes: number }
  | { type: 'error'; message: string }
  | { type: 'stats'; requests: number; rateLimited: number };

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as SimulatorSpec;
  const simulator = new TmesSimulator({
    latencyMs: spec.latencyMs,
    seed: spec.seed,
    ...(spec.rateLimit === undefined ? {} : { rateLimit: spec.rateLimit }),
  });
  const started = Date.now();
  const end = started - spec.endAgoMs;
  // One stream at a time: the generator's working set stays one stream's worth.
  for (const stream of STREAMS) {
    const count = spec.counts[stream];
    if (count === 0) continue;
    const dataset = generateDataset({
      start: end - spec.spanMs,
      end,
      counts: { [stream]: count },
      seed: spec.seed,
    });
    simulator.add(stream, dataset[stream]);
  }
  const generatedMs = Date.now() - started;
  const url = await simulator.start();
  const stored = STREAMS.reduce((n, s) => n + simulator.records(s).length, 0);
  send({ type: 'ready', url, stored, generatedMs, rssBytes: process.memoryUsage().rss });
  process.on('message', (message) => {
    if (message !== 'stats') return;
    const { requests, rateLimited } = simulator.stats;
    send({ type: 'stats', requests, rateLimited });
  });
  // The parent going away (or closing the channel) ends the simulator.
  process.on('disconnect', () => {
    void simulator.stop().finally(() => process.exit(0));
  });
}

function send(report: SimulatorReport): void {
  process.send?.(report);
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
