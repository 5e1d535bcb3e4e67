import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  S3RVER_CREDENTIALS,
  startS3,
  type RunningS3,
} from '../../packages/automation-sdk-shim/tests/helpers/s3-server';
import { Harness, HOUR, NOW } from '../integration/harness';
import { STREAM_NAMES } from '../../trigger_fetch_new_logs/streams';
import { DeliveryLedger, storedIdentities } from './delivery-ledger';
import { SwitchableProxy } from './switchable-proxy';

jest.setTimeout(30_000);

const BUCKET = 'tmes-checkpoints';
/** S3 becomes unreachable as this batch (0-based) reaches the intake: its checkpoint cannot be saved. */
const OUTAGE_AT_BATCH = 3;

describe('the S3 checkpoint store unavailable for a while (file_backend S3)', () => {
  let s3: RunningS3;
  let proxy: SwitchableProxy;
  let h: Harness;
  afterEach(async () => {
    await h.close();
    await proxy.stop();
    await s3.stop();
  });

  it('waits, loses nothing, and saves again once S3 is back', async () => {
    s3 = await startS3([BUCKET]);
    proxy = new SwitchableProxy(Number(new URL(s3.endpoint).port));
    h = new Harness({
      settings: {
        file_backend: 's3',
        aws_bucket_name: BUCKET,
        sub_folder: 'tmes',
        aws_s3_endpoint_url: await proxy.start(),
        aws_access_key_id: S3RVER_CREDENTIALS.accessKeyId,
        aws_secret_access_key: S3RVER_CREDENTIALS.secretAccessKey,
      },
      configuration: { start_time: 3 },
      limits: { batchEvents: 200 },
    });
    h.simulator.generate({
      start: NOW - 2 * HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 2_000, blocked_traffic: 800, policy_events: 800 },
      seed: 21,
    });
    const stored = storedIdentities(h.simulator);
    const ledger = new DeliveryLedger(h.intake);
    ledger.onBatch = (batch) => {
      if (batch.index === OUTAGE_AT_BATCH) proxy.down = true;
    };
    await h.start();

    // While S3 is down, a stream may forward the rest of the window it is reading (each batch
    // acknowledged, remembered in memory), but its cursor cannot move: collection stalls there.
    const checkpointErrors = (): string[] =>
      h.logger.messages('error').filter((m) => /checkpoint|S3|object storage/i.test(m));
    await h.until(() => checkpointErrors().length >= 20);
    const stalledAt = ledger.distinct.size;
    const clockAtStall = h.clock.now();
    await h.until(() => checkpointErrors().length >= 30);
    expect(ledger.distinct.size).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(stored.length);
    expect(h.clock.now()).toBeGreaterThan(clockAtStall);
    expect(proxy.refused).toBeGreaterThan(0);

    proxy.down = false;
    await h.until(() => ledger.distinct.size >= stored.length);
    // The outage moved the clock on: the streams catch up on the empty time since (windows read
    // side by side) before their cursors pass the present. Stop once every one has.
    await untilSaved(s3, (saved) =>
      STREAM_NAMES.every((stream) => {
        const state = saved.streams[stream];
        return state?.window === undefined && Date.parse(state?.cursor ?? '') > NOW - 2 * 60_000;
      }),
    );
    expect(await h.stop()).toBe(0);

    expect(ledger.receivedIdentities()).toEqual(stored);
    // The acknowledged records were remembered in memory: none was sent twice.
    expect(h.intake.events).toHaveLength(stored.length);
    expect(h.logger.messages('critical')).toEqual([]);

    // Saving resumed: the object in S3 has every stream past its last record.
    const saved = await readSaved(s3);
    for (const stream of STREAM_NAMES) {
      expect(saved.streams[stream]?.window).toBeUndefined();
      expect(Date.parse(saved.streams[stream]?.cursor ?? '')).toBeGreaterThan(NOW - 2 * 60_000);
    }
    // And a restart from it sends nothing again.
    h.launch();
    const again = h.simulator.stats.requests;
    await h.until(() => h.simulator.stats.requests > again + 10);
    expect(await h.stop()).toBe(0);
    expect(h.intake.events).toHaveLength(stored.length);
    const errors = checkpointErrors();
    console.log(
      `S3 outage: ${errors.length} failed checkpoint saves reported (e.g. "${errors[0] ?? ''}"); ` +
        `${proxy.refused} connections refused; ${stored.length} records delivered once.`,
    );
  });
});

interface SavedHead {
  streams: Record<string, { cursor: string; window?: unknown } | undefined>;
}

async function readSaved(s3: { client(): S3Client }): Promise<SavedHead> {
  const object = await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tmes/context.json' }));
  return JSON.parse(await object.Body!.transformToString()) as SavedHead;
}

/** Polls the saved head (real time, bounded) until `condition` holds; a failed read is retried. */
async function untilSaved(
  s3: { client(): S3Client },
  condition: (saved: SavedHead) => boolean,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const saved = await readSaved(s3).catch(() => undefined);
    if (saved !== undefined && condition(saved)) return;
    if (Date.now() > deadline) throw new Error('the saved checkpoint never caught up');
    await new Promise((r) => setTimeout(r, 50));
  }
}
