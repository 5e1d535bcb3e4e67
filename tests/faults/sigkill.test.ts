import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntakeStandIn } from '@sekoia/automation-sdk-shim/testing';
import { TmesSimulator } from '../../simulator';
import { HOUR } from '../integration/harness';
import { spawnTrigger, stopChild, waitFor, type ChildTrigger } from './child-trigger';
import { DeliveryLedger, storedIdentities, streamIndex, type AcceptedBatch } from './delivery-ledger';

jest.setTimeout(120_000);

const API_KEY = 'child-api-key-5f3a9c';
const INTAKE_KEY = 'child-intake-key-71be04';
const RECORDS = 40_000;
/** The kill lands while the intake accepts this batch (0-based): two batches of the window are done. */
const KILL_AT_BATCH = 2;

describe('node dist/main.js fetch_new_logs, SIGKILLed mid-window and restarted', () => {
  const simulator = new TmesSimulator({ apiKey: API_KEY });
  const intake = new IntakeStandIn({ intakeKey: INTAKE_KEY });
  const children: ChildTrigger[] = [];
  afterAll(async () => {
    for (const child of children) await stopChild(child);
    await simulator.stop();
    await intake.stop();
  });

  it('loses nothing; the only duplicates are the batch accepted at the instant of the kill', async () => {
    const now = Date.now();
    simulator.generate({
      start: now - 2 * HOUR,
      end: now - 2 * 60_000,
      counts: { accepted_traffic: RECORDS, blocked_traffic: 0, policy_events: 0 },
      seed: 99,
    });
    const stored = storedIdentities(simulator);
    expect(new Set(stored).size).toBe(RECORDS);
    const dataPath = mkdtempSync(join(tmpdir(), 'tmes-child-data-'));
    const configuration = {
      service_url: await simulator.start(),
      username: 'demo',
      api_key: API_KEY,
      intake_key: INTAKE_KEY,
      intake_server: await intake.start(),
      log_types: ['accepted_traffic'],
      // The first run reaches back 3 h; the records start 2 h back, well inside.
      start_time: 3,
      frequency: 1,
      // One window at a time, so batches are acknowledged in order and the kill falls inside
      // one window: what this test counts exactly. Windows side by side (where the last batch
      // of each window in flight may come twice) are sigkill-parallel.test.ts's.
      max_parallel_requests: 1,
    };
    const ledger = new DeliveryLedger(intake);
    let killedDuring: AcceptedBatch | undefined;
    const first = spawnTrigger({ configuration, dataPath });
    children.push(first);
    ledger.onBatch = (batch) => {
      if (batch.index !== KILL_AT_BATCH) return;
      // Before the intake answers: the batch is stored, the trigger never hears about it.
      killedDuring = batch;
      ledger.killStarted();
      first.process.kill('SIGKILL');
    };
    expect(await first.exited).toBe('SIGKILL');
    expect(killedDuring?.events.length).toBeGreaterThan(0);

    // The kill fell mid-window: the checkpoint holds an open window, and the identities of its
    // acknowledged records are in the ledger journal next to it.
    const checkpoint = JSON.parse(readFileSync(join(dataPath, 'context.json'), 'utf8')) as {
      streams: { accepted_traffic: { window?: { start: string; end: string } } };
    };
    expect(checkpoint.streams.accepted_traffic.window).toBeDefined();
    const journal = readdirSync(join(dataPath, 'context.json.d')).filter((n) =>
      n.startsWith('ledger.accepted_traffic.journal.'),
    );
    expect(journal.length).toBeGreaterThan(0);

    ledger.restarted();
    const second = spawnTrigger({ configuration, dataPath });
    children.push(second);
    await waitFor(() => ledger.distinct.size >= RECORDS, `${RECORDS} distinct records`);
    // A few more polls (frequency 1 s): nothing else may arrive.
    const polls = simulator.stats.requests;
    await waitFor(() => simulator.stats.requests >= polls + 2, 'two more polls');
    expect(await stopChild(second)).toBe(0);

    expect(ledger.receivedIdentities()).toEqual(stored);
    const streamOf = streamIndex(simulator);
    const duplicates = ledger.duplicates(streamOf);
    // Exactly the batch the kill interrupted came twice, nothing else.
    expect(duplicates.map((d) => d.batches[0])).toEqual(duplicates.map(() => KILL_AT_BATCH));
    expect(duplicates.every((d) => d.batches.length === 2)).toBe(true);
    expect(duplicates).toHaveLength(killedDuring?.events.length ?? -1);
    console.log(
      `SIGKILL: ${intake.events.length} events for ${RECORDS} records; killed while batch #${KILL_AT_BATCH} ` +
        `(${killedDuring?.events.length ?? 0} events) was accepted, with ${journal.length} ` +
        `journal segment(s) of the open window checkpointed; ${duplicates.length} records twice, all from batch #${KILL_AT_BATCH}.`,
    );

    const output = children.map((c) => c.output()).join('\n');
    // The restarted child stopped on SIGTERM as the platform stops it.
    expect(second.output()).toMatch(/Stop requested: finishing in-flight deliveries/);
    expect(output).not.toContain(API_KEY);
    expect(output).not.toContain(INTAKE_KEY);
    expect(intake.events.join('\n')).not.toContain(API_KEY);
  });
});
