import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigLoader } from '../src/config';
import { AuthenticationError, ConfigurationError, TransientError } from '../src/errors';
import { createHttpClient } from '../src/http';
import { MemoryLogger } from '../src/testing';
import { Module } from '../src/module';
import { backoffDelay } from '../src/retry';
import { MemoryCheckpointStore } from '../src/testing';
import { abortError, type Sleep } from '../src/time';
import { ManualClock } from '../src/testing';
import { Trigger, type TriggerOptions } from '../src/trigger';
import type { ConfigurationSchema } from '../src/validation';

interface Settings {
  api_key: string;
  frequency: number;
}

type Script = (call: number, signal: AbortSignal, trigger: ScriptedTrigger) => Promise<void>;

/** A trigger whose run() does what the test says, and counts its calls. */
class ScriptedTrigger extends Trigger<Settings> {
  protected readonly configurationSchema: ConfigurationSchema = {
    type: 'object',
    properties: {
      api_key: { type: 'string', minLength: 1 },
      frequency: { type: 'integer', minimum: 1, default: 60 },
    },
    required: ['api_key'],
    secrets: ['api_key'],
  };
  calls = 0;

  constructor(
    options: TriggerOptions,
    private readonly script: Script,
  ) {
    super(options);
  }

  get drain(): AbortSignal {
    return this.drainSignal;
  }

  protected run(signal: AbortSignal): Promise<void> {
    return this.script(++this.calls, signal, this);
  }
}

/** A sleep on frozen time: it never ends by itself, only when its signal aborts. */
function frozenSleep(): Sleep & { pending: () => number } {
  let pending = 0;
  const sleep = ((_ms: number, signal?: AbortSignal) =>
    new Promise<void>((_resolve, reject) => {
      pending++;
      signal?.addEventListener(
        'abort',
        () => {
          pending--;
          reject(abortError());
        },
        { once: true },
      );
    })) as Sleep & { pending: () => number };
  sleep.pending = () => pending;
  return sleep;
}

/** Lets in-process work (no real I/O) progress until `predicate` holds. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

const API_KEY = 'tmes-api-key-7f3a9c';
const TOKEN = 'module-token-5e2b1d';

describe('Trigger', () => {
  let volume: string;
  let clock: ManualClock;
  let logger: MemoryLogger;
  let signals: EventEmitter;

  beforeEach(async () => {
    volume = await mkdtemp(join(tmpdir(), 'trigger-test-'));
    await writeFile(
      join(volume, 'trigger_configuration'),
      JSON.stringify({ api_key: API_KEY, frequency: 30 }),
    );
    await writeFile(join(volume, 'token'), TOKEN);
    clock = new ManualClock();
    logger = new MemoryLogger();
    signals = new EventEmitter();
  });

  afterEach(async () => {
    await rm(volume, { recursive: true, force: true });
  });

  function trigger(script: Script, options: Partial<TriggerOptions> = {}): ScriptedTrigger {
    const module = new Module({
      cwd: volume,
      loader: new ConfigLoader({ volumePath: volume, dataPath: volume, env: {} }),
      clock,
      sleep: clock.sleep,
    });
    return new ScriptedTrigger(
      {
        module,
        clock,
        sleep: clock.sleep,
        random: () => 0.5,
        http: createHttpClient(),
        logger,
        store: new MemoryCheckpointStore(),
        signals,
        healthPort: false,
        metricsPort: false,
        ...options,
      },
      script,
    );
  }

  const untilStopped = (signal: AbortSignal): Promise<void> =>
    new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        reject(abortError());
      });
    });

  it('on a fatal error logs one critical, never calls run() again, and exits 0 on SIGTERM', async () => {
    const fatal = 'The TMES API refused the credentials (HTTP 401). Check "username" and "api_key".';
    const t = trigger(() => Promise.reject(new AuthenticationError(fatal)));
    const done = t.execute();
    await until(() => logger.messages('critical').length === 1, 'the critical');
    // An hour of simulated idling later: still one call, still one critical, nothing slept.
    clock.advance(3_600_000);
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(t.calls).toBe(1);
    expect(clock.slept).toBe(0);
    expect(signals.listenerCount('SIGTERM')).toBe(1);

    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(logger.messages('critical')).toEqual([fatal]);
    expect(logger.messages('error')).toEqual([]);
    expect(t.calls).toBe(1);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('idles after a fatal error with a green probe, even when its source had been failing', async () => {
    /** A trigger whose /health watches its source, like a connector reading a third-party API. */
    class SourceWatchingTrigger extends ScriptedTrigger {
      protected override livenessThresholds() {
        return { sourceFailureThresholdSeconds: 60 };
      }
    }
    const base = trigger(() => Promise.resolve());
    const t = new SourceWatchingTrigger(
      {
        module: base.module,
        clock,
        sleep: clock.sleep,
        logger,
        signals,
        healthPort: false,
        metricsPort: false,
      },
      (_call, _signal, self) => {
        self.liveness.recordSourceFailure('api');
        clock.advance(120_000);
        return Promise.reject(new AuthenticationError('The API refused the credentials.'));
      },
    );
    const done = t.execute();
    await until(() => logger.messages('critical').length === 1, 'the critical');
    // The pod must not be restarted into the same critical: the probe stays green.
    expect(t.liveness.isAlive()).toBe(true);
    expect(t.liveness.body().failing_sources).toEqual([]);
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
  });

  it('on transient errors logs, counts, backs off (jittered, growing), then runs again', async () => {
    const t = trigger((call, signal) =>
      call <= 2
        ? Promise.reject(new TransientError(`TMES answered HTTP 503 (#${call})`))
        : untilStopped(signal),
    );
    const done = t.execute();
    await until(() => t.calls === 3, 'the third run');
    const policy = { initialMs: 5_000, maxMs: 300_000, deadlineMs: Number.POSITIVE_INFINITY };
    expect(clock.slept).toBe(backoffDelay(0, policy, () => 0.5) + backoffDelay(1, policy, () => 0.5));
    expect(logger.messages('error')).toHaveLength(2);
    expect(logger.messages('error')[0]).toContain('TMES answered HTTP 503 (#1)');
    expect(t.liveness.body().error_count).toBe(2);

    signals.emit('SIGINT');
    await expect(done).resolves.toBe(0);
    expect(logger.messages('critical')).toEqual([]);
  });

  it('reports an invalid configuration as one critical naming each wrong field, without crashing', async () => {
    await writeFile(join(volume, 'trigger_configuration'), JSON.stringify({ frequency: 'often' }));
    const t = trigger(() => Promise.reject(new Error('run() must not be called')));
    const done = t.execute();
    await until(() => logger.messages('critical').length === 1, 'the critical');
    const [critical] = logger.messages('critical');
    expect(critical).toContain('"api_key"');
    expect(critical).toContain('"frequency"');
    expect(t.calls).toBe(0);

    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(logger.messages('critical')).toHaveLength(1);
  });

  it('reports a missing configuration as a critical that says which file to create', async () => {
    await rm(join(volume, 'trigger_configuration'));
    const t = trigger(() => Promise.resolve());
    const done = t.execute();
    await until(() => logger.messages('critical').length === 1, 'the critical');
    expect(logger.messages('critical')[0]).toContain(join(volume, 'trigger_configuration'));
    t.stop();
    await expect(done).resolves.toBe(0);
  });

  it('SIGTERM aborts a run() that is sleeping, without waiting for the drain deadline', async () => {
    const sleep = frozenSleep();
    const t = trigger(
      async (_call, signal, self) => {
        for (;;) await self.sleep(3_600_000, signal);
      },
      { sleep },
    );
    const done = t.execute();
    await until(() => sleep.pending() === 1, 'run() to sleep');

    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    // The drain deadline never expired (time is frozen): the stop alone ended run().
    expect(t.drain.aborted).toBe(true); // aborted at exit, to cut anything left behind
    expect(logger.messages('warning')).toEqual([]);
    expect(t.calls).toBe(1);
  });

  it('lets run() finish in-flight work after a stop, up to the drain deadline', async () => {
    const t = trigger(
      async (_call, signal, self) => {
        await untilStopped(signal).catch(() => undefined);
        // "In-flight work" that only the drain deadline interrupts.
        await new Promise<void>((resolve) => {
          self.drain.addEventListener('abort', () => {
            resolve();
          });
        });
      },
      { drainTimeoutMs: 7_000 },
    );
    const done = t.execute();
    await until(() => t.calls === 1, 'run()');
    const stoppedAt = clock.now();
    t.stop();
    await expect(done).resolves.toBe(0);
    expect(clock.now() - stoppedAt).toBe(7_000);
  });

  it('gives up on a run() that ignores even the drain deadline, and still exits 0', async () => {
    const t = trigger(() => new Promise<void>(() => undefined), { drainTimeoutMs: 2_000 });
    const done = t.execute();
    await until(() => t.calls === 1, 'run()');
    t.stop();
    await expect(done).resolves.toBe(0);
    expect(logger.messages('warning')).toEqual([
      'The trigger did not finish within 2000 ms of the stop request',
    ]);
  });

  it('calls run() again after a short pause when it returns on its own', async () => {
    const t = trigger((call, signal) => (call < 3 ? Promise.resolve() : untilStopped(signal)));
    const done = t.execute();
    await until(() => t.calls === 3, 'three runs');
    expect(clock.slept).toBe(2_000);
    t.stop();
    await expect(done).resolves.toBe(0);
  });

  it('hides configuration secrets and the module token in every log line', async () => {
    const t = trigger(() =>
      Promise.reject(new ConfigurationError(`api_key ${API_KEY} refused, token ${TOKEN}: fix "api_key"`)),
    );
    const done = t.execute();
    await until(() => logger.entries.length === 1, 'the critical');
    signals.emit('SIGTERM');
    await done;
    const text = JSON.stringify(logger.entries);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(TOKEN);
    expect(logger.messages('critical')).toEqual(['api_key *** refused, token ***: fix "api_key"']);
  });

  it('serves /health and /metrics on ephemeral ports while running, and stops them on exit', async () => {
    const t = trigger((_call, signal) => untilStopped(signal), { healthPort: 0, metricsPort: 0 });
    const done = t.execute();
    await until(() => t.calls === 1, 'run()');
    const http = createHttpClient();
    const health = await http.get(`http://127.0.0.1:${t.ports.health!}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.data as string)).toMatchObject({ error_count: 0 });
    const metrics = await http.get(`http://127.0.0.1:${t.ports.metrics!}/metrics`);
    expect(metrics.status).toBe(200);

    t.stop();
    await done;
    // A fresh client: the old one's keep-alive socket would only see a reset.
    await expect(createHttpClient().get(`http://127.0.0.1:${t.ports.health!}/health`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
