import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntakeStandIn } from '@sekoia/automation-sdk-shim/testing';
import { TmesSimulator } from '../../simulator';
import { HOUR } from '../integration/harness';
import { spawnTrigger, stopChild, waitFor, type ChildTrigger } from './child-trigger';
import { DeliveryLedger, storedIdentities, streamIndex, type AcceptedBatch } from './delivery-ledger';

jest.setTimeout(60_000);

const API_KEY = 'parallel-api-key-8d21c7';
const INTAKE_KEY = 'parallel-intake-key-40a9e3';
const RECORDS = 30_000;
const PARALLEL = 4;

/** The latest genTime of a batch's events (raw records), epoch ms. */
function latest(batch: AcceptedBatch): number {
  return Math.max(...batch.events.map((e) => Date.parse((JSON.parse(e) as { genTime: string }).genTime)));
}

function earliest(batch: AcceptedBatch): number {
  return Math.min(...batch.events.map((e) => Date.parse((JSON.parse(e) as { genTime: string }).genTime)));
}

describe('node dist/main.js fetch_new_logs, SIGKILLed while several windows are read side by side', () => {
  // 30 ms per page: reads wait on the API, so K grows and several windows are in flight.
  const simulator = new TmesSimulator({ apiKey: API_KEY, latencyMs: 30 });
  const intake = new IntakeStandIn({ intakeKey: INTAKE_KEY });
  const children: ChildTrigger[] = [];
  afterAll(async () => {
    for (const child of children) await stopChild(child);
    await simulator.stop();
    await intake.stop();
  });

  it('loses nothing; repeats only the batches in flight at the kill', async () => {
    const now = Date.now();
    simulator.generate({
      start: now - 2 * HOUR,
      end: now - 2 * 60_000,
      counts: { accepted_traffic: RECORDS, blocked_traffic: 0, policy_events: 0 },
      seed: 41,
    });
    const stored = storedIdentities(simulator);
    const dataPath = mkdtempSync(join(tmpdir(), 'tmes-parallel-data-'));
    const configuration = {
      service_url: await simulator.start(),
      username: 'demo',
      api_key: API_KEY,
      intake_key: INTAKE_KEY,
      intake_server: await intake.start(),
      log_types: ['accepted_traffic'],
      start_time: 3,
      frequency: 1,
      max_parallel_requests: PARALLEL,
    };
    const ledger = new DeliveryLedger(intake);
    const first = spawnTrigger({ configuration, dataPath });
    children.push(first);
    // Kill once deliveries come out of time order (windows side by side), a few batches later.
    let killAt: number | undefined;
    ledger.onBatch = (batch) => {
      if (killAt === undefined) {
        const before = ledger.batches.slice(0, batch.index);
        if (before.some((b) => latest(b) > earliest(batch) + 60_000)) killAt = batch.index + 3;
        return;
      }
      if (batch.index !== killAt) return;
      ledger.killStarted();
      first.process.kill('SIGKILL');
    };
    expect(await first.exited).toBe('SIGKILL');
    expect(killAt).toBeDefined();
    const killed = killAt ?? -1;

    // The head covers the windows in flight: from the cursor to the furthest window's end.
    const head = JSON.parse(readFileSync(join(dataPath, 'context.json'), 'utf8')) as {
      streams: { accepted_traffic: { cursor: string; window?: { start: string; end: string } } };
    };
    const window = head.streams.accepted_traffic.window;
    expect(window).toBeDefined();

    ledger.restarted();
    const second = spawnTrigger({ configuration, dataPath });
    children.push(second);
    await waitFor(() => ledger.distinct.size >= RECORDS, `${RECORDS} distinct records`, 50_000);
    const polls = simulator.stats.requests;
    await waitFor(() => simulator.stats.requests >= polls + 2, 'two more polls');
    expect(await stopChild(second)).toBe(0);

    // Nothing lost.
    expect(ledger.receivedIdentities()).toEqual(stored);
    // Repeated: only records of the batches the intake took from the first process in its last
    // moments, at most one per window in flight (each window forwards one batch at a time), and
    // each such record exactly twice.
    const duplicates = ledger.duplicates(streamIndex(simulator));
    const lastOnes = new Set(
      ledger.batches
        .filter((b) => b.generation === 0 && (b.index > killed - PARALLEL || b.duringKill))
        .map((b) => b.index),
    );
    for (const d of duplicates) {
      expect(d.batches).toHaveLength(2);
      expect(lastOnes.has(d.batches[0] ?? -1)).toBe(true);
    }
    const repeatedBatches = new Set(duplicates.map((d) => d.batches[0]));
    expect(repeatedBatches.size).toBeLessThanOrEqual(PARALLEL);
    console.log(
      `SIGKILL with windows side by side: ${intake.events.length} events for ${RECORDS} records; head window ` +
        `${window?.start} – ${window?.end}; ${duplicates.length} records twice, from batches ` +
        `${[...repeatedBatches].join(', ')} (kill at #${killed}).`,
    );
    const output = children.map((c) => c.output()).join('\n');
    expect(output).not.toContain(API_KEY);
    expect(output).not.toContain(INTAKE_KEY);
  });
});
