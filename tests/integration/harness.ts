import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigLoader,
  Module,
  abortError,
  createCheckpointStore,
  createHttpClient,
  realSleep,
  type CheckpointStore,
  type NamedObjects,
} from '@sekoia/automation-sdk-shim';
import { IntakeStandIn, ManualClock, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { TmesSimulator, type TmesSimulatorOptions } from '../../simulator';
import type { CollectorLimits } from '../../trigger_fetch_new_logs/stream-collector';
import { FetchNewLogsTrigger } from '../../trigger_fetch_new_logs/trigger';
import { offlineLookup } from '../helpers/offline-lookup';

export const REPO_ROOT = resolve(__dirname, '../..');
export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
export const HOUR = 3_600_000;

export interface HarnessOptions {
  simulator?: TmesSimulatorOptions;
  configuration?: Record<string, unknown>;
  limits?: Partial<CollectorLimits>;
  dataPath?: string;
  /** The simulated TMES server's clock runs this far behind the host's (clock skew tests). */
  simulatorBehindMs?: number;
  /** Timeout of the trigger's intake client (default: the runtime's 30 s). */
  intakeTimeoutMs?: number;
  /** Replaces the trigger_configuration file written by start() with this text, as is. */
  rawConfiguration?: string;
  /** Platform settings written as volume files (e.g. file_backend, aws_bucket_name, url_logs). */
  settings?: Record<string, string>;
  /** The trigger's own /health server: 0 = an ephemeral port (see trigger.ports); default none. */
  healthPort?: number | false;
}

/**
 * The trigger as the platform runs it (a Module reading trigger_configuration from a volume
 * directory), against the TMES simulator and the intake stand-in on 127.0.0.1, on simulated time.
 */
export class Harness {
  readonly clock = new ManualClock(NOW);
  readonly logger = new MemoryLogger();
  readonly signals = new EventEmitter();
  readonly simulator: TmesSimulator;
  readonly intake: IntakeStandIn;
  readonly dataPath: string;
  readonly volumePath: string;
  trigger: FetchNewLogsTrigger | undefined;
  /** The checkpoint store of the current trigger, which crash() cuts off like a dead process. */
  store: KillableStore | undefined;
  /** Every checkpoint write attempted by any generation of the trigger (bytes, clock time). */
  readonly writes: StoreWrite[] = [];
  private running: Promise<number> | undefined;
  private closed = false;

  constructor(private readonly options: HarnessOptions = {}) {
    const behind = options.simulatorBehindMs ?? 0;
    const serverClock = behind === 0 ? this.clock : { now: () => this.clock.now() - behind };
    this.simulator = new TmesSimulator({ clock: serverClock, ...options.simulator });
    this.intake = new IntakeStandIn({ clock: this.clock });
    this.volumePath = mkdtempSync(join(tmpdir(), 'tmes-volume-'));
    this.dataPath = options.dataPath ?? mkdtempSync(join(tmpdir(), 'tmes-data-'));
    for (const [name, value] of Object.entries(options.settings ?? {})) {
      writeFileSync(join(this.volumePath, name), value);
    }
  }

  async start(configuration: Record<string, unknown> = {}): Promise<void> {
    const simulatorUrl = await this.simulator.start();
    const intakeUrl = await this.intake.start();
    writeFileSync(
      join(this.volumePath, 'trigger_configuration'),
      JSON.stringify({
        service_url: simulatorUrl,
        username: 'demo',
        api_key: 'demo-api-key',
        intake_key: 'INTAKE-KEY-123456',
        intake_server: intakeUrl,
        frequency: 1,
        ...this.options.configuration,
        ...configuration,
      }),
    );
    if (this.options.rawConfiguration !== undefined) {
      writeFileSync(join(this.volumePath, 'trigger_configuration'), this.options.rawConfiguration);
    }
    this.launch();
  }

  /** Starts a trigger (again) on the same data path: a restart. */
  launch(): void {
    const loader = new ConfigLoader({ volumePath: this.volumePath, dataPath: this.dataPath, env: {} });
    const module = new Module({
      cwd: REPO_ROOT,
      loader,
      clock: this.clock,
      sleep: this.clock.sleep,
      logger: this.logger,
    });
    this.store = new KillableStore(
      () => createCheckpointStore(loader),
      (write) => this.writes.push({ ...write, at: this.clock.now() }),
    );
    const { intakeTimeoutMs } = this.options;
    this.trigger = new FetchNewLogsTrigger({
      module,
      clock: this.clock,
      sleep: this.clock.sleep,
      random: () => 0.5,
      logger: this.logger,
      signals: this.signals,
      healthPort: this.options.healthPort ?? false,
      metricsPort: false,
      // Names like api.tmes.invalid fail here without a DNS query (see offlineLookup).
      tmesHttp: createHttpClient({ timeoutMs: 2_000, lookup: offlineLookup }),
      // A graceful stop: in-flight pushes get real time to be acknowledged.
      drainSleep: realSleep,
      drainTimeoutMs: 5_000,
      collectorLimits: this.options.limits ?? {},
      store: this.store,
      ...(intakeTimeoutMs === undefined
        ? {}
        : { intakeHttp: createHttpClient({ timeoutMs: intakeTimeoutMs, maxSockets: 4 }) }),
    });
    this.running = this.trigger.execute();
  }

  /** Waits (real time, bounded) until `condition` holds. */
  async until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<number> {
    this.signals.emit('SIGTERM');
    const code = (await this.running) ?? -1;
    this.running = undefined;
    return code;
  }

  /**
   * A kill, in process: the checkpoint store stops accepting writes (a write already under way
   * completes, as an atomic rename would or would not have), and a double SIGTERM aborts the
   * run, its pushes and its drain at once. Call launch() to restart on the same data path.
   */
  async crash(): Promise<void> {
    const store = this.store;
    store?.kill();
    this.signals.emit('SIGTERM');
    this.signals.emit('SIGTERM');
    await this.running;
    this.running = undefined;
    await store?.settled();
    // A push whose body left just before the kill may still be read by the intake: it belongs
    // to this generation, not to the next launch()'s (tests count duplicates per generation).
    await this.intake.settled();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running !== undefined) await this.stop();
    await this.simulator.stop();
    await this.intake.stop();
  }

  /** The records the intake received, parsed. */
  received(): Record<string, unknown>[] {
    return this.intake.events.map((e) => JSON.parse(e) as Record<string, unknown>);
  }

  /** The exposition lines of the current trigger's metrics whose name starts with `name`. */
  async metricLines(name: string): Promise<string> {
    const text = (await this.trigger?.metrics.registry.metrics()) ?? '';
    return text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');
  }

  totalStored(): number {
    return (['accepted_traffic', 'blocked_traffic', 'policy_events'] as const).reduce(
      (n, s) => n + this.simulator.records(s).length,
      0,
    );
  }
}

/** Canonical text of a record, to compare what was sent with what was stored. */
export function identity(record: unknown): string {
  return JSON.stringify(record, Object.keys(record as object).sort());
}

/** One checkpoint write: the head document, or a named object (ledger journal segment, snapshot). */
export interface StoreWrite {
  kind: 'head' | 'object';
  /** The named object's name (objects only). */
  name?: string;
  /** UTF-8 bytes of the JSON written (what the file and S3 stores write). */
  bytes: number;
  /** Entries of a document that is a list (a journal segment, a snapshot). */
  entries?: number;
  /** Clock time of the write. */
  at: number;
}

/**
 * A checkpoint store that a simulated kill cuts off: later saves never reach the disk. The real
 * store is created on first use, as the trigger does, so a bad storage setting is reported by it.
 */
export class KillableStore implements CheckpointStore {
  private dead = false;
  private readonly pending = new Set<Promise<unknown>>();
  private store: CheckpointStore | undefined;

  constructor(
    private readonly create: () => CheckpointStore,
    /** Told of every write the store accepts (tests measure checkpoint bytes with it). */
    private readonly onWrite?: (write: Omit<StoreWrite, 'at'>) => void,
  ) {}

  private get inner(): CheckpointStore {
    this.store ??= this.create();
    return this.store;
  }

  kill(): void {
    this.dead = true;
  }

  /** Resolves once every write started before the kill has finished (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  load(signal?: AbortSignal): Promise<unknown> {
    return this.inner.load(signal);
  }

  save(document: unknown, signal?: AbortSignal): Promise<void> {
    return this.write(() => this.inner.save(document, signal), { kind: 'head', bytes: jsonBytes(document) });
  }

  /** The named objects (ledger journals) are cut off by a kill like the document. */
  readonly objects: NamedObjects = {
    save: (name, document, signal) =>
      this.write(() => this.inner.objects.save(name, document, signal), {
        kind: 'object',
        name,
        bytes: jsonBytes(document),
        ...(Array.isArray(document) ? { entries: document.length } : {}),
      }),
    load: (name, signal) => this.inner.objects.load(name, signal),
    list: (prefix, signal) => this.inner.objects.list(prefix, signal),
    remove: (name, signal) => this.write(() => this.inner.objects.remove(name, signal)),
  };

  private write(operation: () => Promise<void>, measured?: Omit<StoreWrite, 'at'>): Promise<void> {
    if (this.dead) return Promise.reject(abortError());
    if (measured !== undefined) this.onWrite?.(measured);
    const saving = operation();
    this.pending.add(saving);
    const forget = (): void => {
      this.pending.delete(saving);
    };
    saving.then(forget, forget);
    return saving;
  }

  describe(): string {
    return this.inner.describe();
  }
}

function jsonBytes(document: unknown): number {
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const text = JSON.stringify(document) as string | undefined;
  return Buffer.byteLength(text ?? '', 'utf8');
}
