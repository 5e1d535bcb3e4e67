import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigLoader } from '../src/config';
import { Connector, type ConnectorConfiguration } from '../src/connector';
import { createHttpClient } from '../src/http';
import { IntakeStandIn } from '../src/testing';
import type { Logger } from '../src/logger';
import { MemoryLogger } from '../src/testing';
import { LogShipper } from '../src/logs';
import { Module } from '../src/module';
import { MemoryCheckpointStore } from '../src/testing';
import { abortError, type Sleep } from '../src/time';
import { ManualClock } from '../src/testing';
import type { TriggerOptions } from '../src/trigger';
import type { ConfigurationSchema } from '../src/validation';

const INTAKE_KEY = 'intake-key-a1b2c3d4e5';

interface Settings extends ConnectorConfiguration {
  batch: number;
}

/**
 * Replays `source` into the intake, `batch` events at a time, and checkpoints the offset only
 * once the intake acknowledged them: the pattern the runtime's drain exists to protect.
 */
class ReplayConnector extends Connector<Settings> {
  protected readonly configurationSchema: ConfigurationSchema = {
    type: 'object',
    properties: {
      intake_key: { type: 'string', minLength: 1 },
      intake_server: { type: 'string' },
      batch: { type: 'integer', minimum: 1, default: 2 },
    },
    required: ['intake_key'],
    secrets: ['intake_key'],
  };
  pushed = 0;
  /** The offset of the last checkpoint written. */
  checkpointed = 0;

  constructor(
    options: TriggerOptions,
    private readonly source: readonly string[],
    private readonly beforePush: () => void = () => undefined,
  ) {
    super(options);
  }

  protected async run(signal: AbortSignal): Promise<void> {
    const saved = (await this.store.load(signal)) as { offset: number } | undefined;
    let offset = saved?.offset ?? 0;
    for (;;) {
      const batch = this.source.slice(offset, offset + this.configuration.batch);
      if (batch.length > 0) {
        this.beforePush();
        await this.pushEvents(batch);
        this.pushed += batch.length;
        offset += batch.length;
        await this.store.save({ offset }, this.drainSignal);
        this.checkpointed = offset;
      }
      await this.sleep(60_000, signal);
    }
  }
}

/** A logs API that takes requests and never answers them. */
class HangingLogsEndpoint {
  received = 0;
  private readonly held: ServerResponse[] = [];
  private readonly server: Server = createServer((_req, res) => {
    this.received++;
    this.held.push(res);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/logs`;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}

/** Waits (boundedly) for loopback I/O to reach a state. */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const events = (n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i }));

describe('Connector', () => {
  let volume: string;
  let clock: ManualClock;
  let signals: EventEmitter;
  let standIn: IntakeStandIn;
  let intakeUrl: string;

  beforeEach(async () => {
    volume = await mkdtemp(join(tmpdir(), 'connector-test-'));
    clock = new ManualClock();
    signals = new EventEmitter();
    standIn = new IntakeStandIn({ clock, intakeKey: INTAKE_KEY });
    intakeUrl = await standIn.start();
    await writeConfiguration({ intake_key: INTAKE_KEY, intake_server: intakeUrl, batch: 2 });
  });

  afterEach(async () => {
    await standIn.stop();
    await rm(volume, { recursive: true, force: true });
  });

  async function writeConfiguration(configuration: object): Promise<void> {
    await writeFile(join(volume, 'trigger_configuration'), JSON.stringify(configuration));
  }

  function testModule(): Module {
    return new Module({
      cwd: volume,
      loader: new ConfigLoader({ volumePath: volume, dataPath: volume, env: {} }),
    });
  }

  function connector(
    source: readonly string[],
    options: Partial<TriggerOptions> & { logger: Logger },
    beforePush?: () => void,
  ): ReplayConnector {
    return new ReplayConnector(
      {
        module: testModule(),
        clock,
        sleep: clock.sleep,
        random: () => 0.5,
        store: new MemoryCheckpointStore(),
        signals,
        healthPort: false,
        metricsPort: false,
        ...options,
      },
      source,
      beforePush,
    );
  }

  describe.each(['answering', 'hanging'] as const)('with a logs API that is %s', (mode) => {
    it('pushes and checkpoints without depending on the logs API', async () => {
      const logsEndpoint = new HangingLogsEndpoint();
      const hangingUrl = await logsEndpoint.start();
      const answering = new LogsSink();
      const url = mode === 'hanging' ? hangingUrl : await answering.start();
      const local = new MemoryLogger();
      const logs = new LogShipper({
        url,
        token: 'tok-0000',
        http: createHttpClient(),
        clock,
        local,
        closeTimeoutMs: 50,
      });
      const store = new MemoryCheckpointStore();
      // An error log right before each push: it asks for an immediate send to the logs API.
      const c = connector(events(4), { logger: logs, store }, () => {
        logs.log('error', `about to push (#${c.pushed})`);
      });
      try {
        const done = c.execute();
        await eventually(() => c.checkpointed === 4, 'both pushes and checkpoints');
        expect(standIn.events).toEqual(events(4));
        expect(store.document).toEqual({ offset: 4 });
        if (mode === 'hanging') {
          // The logs request is still unanswered, yet both pushes completed.
          expect(logsEndpoint.received).toBe(1);
        } else {
          await eventually(() => answering.received >= 2, 'the logs');
        }
        signals.emit('SIGTERM');
        await expect(done).resolves.toBe(0);
        await logs.close();
      } finally {
        await logsEndpoint.stop();
        await answering.stop();
      }
    });
  });

  it('on SIGTERM during an unanswered push exits 0 at the drain deadline without moving the checkpoint', async () => {
    const logger = new MemoryLogger();
    const store = new MemoryCheckpointStore({ offset: 2 });
    const c = connector(events(6), { logger, store, drainTimeoutMs: 8_000 });
    standIn.failNext(1, { status: 200, hang: true });
    const done = c.execute();
    await eventually(() => standIn.requests === 1, 'the push to reach the intake');

    const stoppedAt = clock.now();
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(clock.now() - stoppedAt).toBe(8_000);
    expect(store.document).toEqual({ offset: 2 });
    expect(store.saves).toBe(0);
    expect(standIn.events).toEqual([]);
    expect(logger.messages('critical')).toEqual([]);
    expect(logger.messages('error')).toEqual([]);
  });

  it('on SIGTERM during a slow push lets it finish and checkpoints what was acknowledged', async () => {
    await standIn.stop();
    standIn = new IntakeStandIn({ clock, intakeKey: INTAKE_KEY, latencyMs: 30 });
    intakeUrl = await standIn.start();
    await writeConfiguration({ intake_key: INTAKE_KEY, intake_server: intakeUrl, batch: 3 });
    const drainTimeoutMs = 8_000;
    // Simulated time, except the drain deadline, which this test holds open.
    const sleep: Sleep = (ms, signal) =>
      ms === drainTimeoutMs
        ? new Promise((_resolve, reject) => {
            signal?.addEventListener('abort', () => {
              reject(abortError());
            });
          })
        : clock.sleep(ms, signal);
    const store = new MemoryCheckpointStore();
    const c = connector(events(6), { logger: new MemoryLogger(), store, sleep, drainTimeoutMs });
    const done = c.execute();
    await eventually(() => standIn.requests === 1, 'the push to reach the intake');
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    // The stop did not abort the push; the next batch was never started.
    expect(standIn.events).toEqual(events(3));
    expect(store.document).toEqual({ offset: 3 });
    expect(standIn.requests).toBe(1);
  });

  it('reports a missing intake address as one critical naming intake_server', async () => {
    await writeConfiguration({ intake_key: INTAKE_KEY });
    const logger = new MemoryLogger();
    const c = connector(events(2), { logger });
    const done = c.execute();
    await eventually(() => logger.messages('critical').length === 1, 'the critical');
    expect(logger.messages('critical')[0]).toContain('"intake_server"');
    expect(standIn.requests).toBe(0);
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
  });

  it("reads connector_configuration before trigger_configuration, like the Python SDK's Connector", async () => {
    await writeConfiguration({ intake_key: 'from-trigger-file', intake_server: intakeUrl });
    await writeFile(
      join(volume, 'connector_configuration'),
      JSON.stringify({ intake_key: 'from-connector-file', intake_server: intakeUrl }),
    );
    try {
      const c = connector(events(1), { logger: new MemoryLogger() });
      expect(c.configuration.intake_key).toBe('from-connector-file');
    } finally {
      await rm(join(volume, 'connector_configuration'));
    }
  });

  it('reports a refused intake key as one critical and stops pushing', async () => {
    await writeConfiguration({ intake_key: 'not-the-right-key', intake_server: intakeUrl });
    const logger = new MemoryLogger();
    const c = connector(events(4), { logger });
    const done = c.execute();
    await eventually(() => logger.messages('critical').length === 1, 'the critical');
    clock.advance(3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(standIn.requests).toBe(1);
    // Restarting cannot fix a setting: the probe stays healthy, so the pod is not restarted into it again.
    expect(c.liveness.isAlive()).toBe(true);
    expect(logger.messages('critical')[0]).toContain('"intake_key"');
    expect(JSON.stringify(logger.entries)).not.toContain('not-the-right-key');
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
  });

  it('runs with a real Module: manifest from cwd, settings from the volume, checkpoint in the data path', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'connector-module-'));
    const data = await mkdtemp(join(tmpdir(), 'connector-data-'));
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await writeFile(
        join(cwd, 'manifest.json'),
        JSON.stringify({ uuid: 'u', name: 'Test', slug: 'test-module', version: '1.2.3', configuration: {} }),
      );
      await writeConfiguration({ intake_key: INTAKE_KEY });
      await writeFile(join(volume, 'intake_url'), `${intakeUrl}\n`);
      const module = new Module({
        cwd,
        loader: new ConfigLoader({ volumePath: volume, dataPath: data, env: {} }),
      });
      const c = new ReplayConnector(
        { module, clock, sleep: clock.sleep, signals, healthPort: 0, metricsPort: 0 },
        events(3),
      );
      const done = c.execute();
      await eventually(() => c.checkpointed === 3, 'the pushes and the checkpoint');

      const http = createHttpClient();
      const metrics = await http.get(`http://127.0.0.1:${c.ports.metrics!}/metrics`);
      expect(metrics.data).toMatch(/symphony_module_common_forwarded_events_total\{[^}]*\} 3/);
      const health = await http.get(`http://127.0.0.1:${c.ports.health!}/health`);
      expect(health.status).toBe(200);

      signals.emit('SIGTERM');
      await expect(done).resolves.toBe(0);
      expect(JSON.parse(await readFile(join(data, 'context.json'), 'utf8'))).toEqual({ offset: 3 });
      const printed = stdout.mock.calls.map((call) => String(call[0])).join('');
      expect(printed).toContain('Stop requested');
      expect(printed).not.toContain(INTAKE_KEY);
    } finally {
      stdout.mockRestore();
      await rm(cwd, { recursive: true, force: true });
      await rm(data, { recursive: true, force: true });
    }
  });
});

/** A logs API that answers 200 to everything. */
class LogsSink {
  received = 0;
  private readonly server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      this.received++;
      res.writeHead(200).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/logs`;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
