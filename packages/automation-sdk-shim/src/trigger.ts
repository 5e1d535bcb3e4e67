import type { AxiosInstance } from 'axios';
import { Registry } from 'prom-client';
import { ConfigurationError, describeError, isAbort } from './errors';
import { HealthServer, Liveness, type LivenessOptions } from './health';
import { Redactor, type Logger } from './logger';
import { RedactingLogger, createModuleLogger } from './logs';
import { MetricsServer } from './metrics';
import type { Module, Runnable } from './module';
import { RUNTIME_RESTART } from './backoff-policies';
import type { CheckpointStore } from './storage/checkpoint-store';
import { createCheckpointStore } from './storage/create-store';
import { supervise } from './supervise';
import { abortError, type Clock, type Sleep } from './time';
import { ConfigurationValidator, type ConfigurationSchema } from './validation';

export interface TriggerOptions {
  module: Module;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
  http?: AxiosInstance;
  /** Default: stdout plus the logs API (module.urlLogs() / token()). Tests inject a MemoryLogger. */
  logger?: Logger;
  /** Default: createCheckpointStore(module.loader). */
  store?: CheckpointStore;
  /** Where SIGTERM / SIGINT come from; default process. */
  signals?: NodeJS.EventEmitter;
  /** How long run() may keep working after a stop (in-flight pushes, last checkpoint). Default 10 s. */
  drainTimeoutMs?: number;
  /**
   * How the drain deadline waits; default `sleep`. Tests on simulated time pass real time
   * here, so in-flight I/O to loopback servers can finish as it would in production.
   */
  drainSleep?: Sleep;
  /** Default: the `liveness_port` setting (8000); false = no server; 0 = ephemeral. */
  healthPort?: number | false;
  /** Default: the `metrics_port` setting (8020); false = no server; 0 = ephemeral. */
  metricsPort?: number | false;
}

/** Pause before calling a run() again that returned on its own. */
const RESTART_DELAY_MS = 1_000;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

type Closable = Logger & { close?: () => Promise<void> };
interface Server {
  stop(): Promise<void>;
}

/**
 * A long-running item of a module. Subclasses declare their configuration schema and
 * implement run(); the base owns the lifecycle: configuration and secrets, health and metrics
 * servers, restarts with backoff, the critical-then-idle policy for fatal errors, and a stop
 * that lets in-flight deliveries finish within a deadline.
 */
export abstract class Trigger<C extends object> implements Runnable {
  /** The `arguments` JSON Schema of the item file. */
  protected abstract readonly configurationSchema: ConfigurationSchema;

  readonly module: Module;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly http: AxiosInstance;
  readonly liveness: Liveness;

  private readonly options: TriggerOptions;
  private readonly drainTimeoutMs: number;
  private readonly stopController = new AbortController();
  private readonly drainController = new AbortController();
  /** Cancels the drain timer once everything finished before it. */
  private readonly drainTimer = new AbortController();
  /** Settle when the stop request / the drain deadline happen (one listener each, not one per wait). */
  private readonly stopped: Promise<void>;
  private readonly drainExpired: Promise<void>;
  private readonly servers: Server[] = [];
  private readonly boundPorts: { health?: number; metrics?: number } = {};
  private sink: Closable | undefined;
  private redacting: RedactingLogger | undefined;
  private storeInstance: CheckpointStore | undefined;
  private validator: ConfigurationValidator<C> | undefined;
  private configurationValue: C | undefined;
  private ownRegistry: Registry | undefined;

  constructor(options: TriggerOptions) {
    this.options = options;
    this.module = options.module;
    this.clock = options.clock ?? options.module.clock;
    this.sleep = options.sleep ?? options.module.sleep;
    this.random = options.random ?? Math.random;
    this.http = options.http ?? options.module.http();
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.liveness = new Liveness({ clock: this.clock, ...this.livenessThresholds() });
    this.stopped = whenAborted(this.stopController.signal);
    this.drainExpired = whenAborted(this.drainController.signal);
  }

  /** trigger_configuration (else connector_configuration), validated once. */
  get configuration(): C {
    this.configurationValue ??= this.configurationValidator().validate(this.rawConfiguration());
    return this.configurationValue;
  }

  /** Every line is redacted with the secrets known so far (token, then configuration secrets). */
  get logger(): Logger {
    return this.redactingLogger();
  }

  get store(): CheckpointStore {
    this.storeInstance ??= this.options.store ?? createCheckpointStore(this.module.loader);
    return this.storeInstance;
  }

  /** Ports the health and metrics servers listen on, once started (useful with port 0). */
  get ports(): Readonly<{ health?: number; metrics?: number }> {
    return this.boundPorts;
  }

  /**
   * Collects until `signal` aborts (a stop was requested), then returns. In-flight pushes and
   * the last checkpoint write use `drainSignal` instead, so a stop does not lose them.
   */
  protected abstract run(signal: AbortSignal): Promise<void>;

  /** Aborts only when the drain deadline after a stop expires. */
  protected get drainSignal(): AbortSignal {
    return this.drainController.signal;
  }

  /** Liveness thresholds; a plain trigger is always alive, like Python's. */
  protected livenessThresholds(): Omit<LivenessOptions, 'clock'> {
    return { secondsWithoutEventsThreshold: 0, lastHeartbeatThreshold: 0, pushFailureThresholdSeconds: 0 };
  }

  /** What the metrics server exposes; connectors answer their ConnectorMetrics registry. */
  protected metricsRegistry(): Registry {
    this.ownRegistry ??= new Registry();
    return this.ownRegistry;
  }

  /** Secret values to hide in logs, beyond the schema's `secrets`. */
  protected extraSecrets(configuration: C): unknown[] {
    const intakeKey = (configuration as { intake_key?: unknown }).intake_key;
    const loader = this.module.loader;
    return [intakeKey, loader.string('aws_secret_access_key'), loader.string('aws_session_token')];
  }

  /** Same as receiving SIGTERM. A second stop gives up on the drain at once. */
  stop(): void {
    if (this.stopController.signal.aborted) {
      this.drainController.abort();
      return;
    }
    this.logger.log(
      'info',
      `Stop requested: finishing in-flight deliveries (at most ${this.drainTimeoutMs} ms)`,
    );
    this.stopController.abort();
    (this.options.drainSleep ?? this.sleep)(this.drainTimeoutMs, this.drainTimer.signal).then(
      () => {
        this.drainController.abort();
      },
      () => undefined,
    );
  }

  /** Runs until stopped; resolves 0 on a clean stop. */
  async execute(): Promise<number> {
    const signals = this.options.signals ?? process;
    const onSignal = (): void => {
      this.stop();
    };
    for (const name of STOP_SIGNALS) signals.on(name, onSignal);
    try {
      await this.startServer('health', this.options.healthPort, 'liveness_port', 8000, (port) => {
        return new HealthServer({ liveness: this.liveness, port });
      });
      await this.supervise(this.stopController.signal);
    } finally {
      for (const name of STOP_SIGNALS) signals.off(name, onSignal);
      await this.shutdown();
    }
    return 0;
  }

  /** The restart loop: run, classify what it threw, back off or idle, until stopped. */
  private async supervise(stop: AbortSignal): Promise<void> {
    let prepared = false;
    const end = await supervise(
      async () => {
        if (!prepared) {
          await this.prepare();
          prepared = true;
        }
        await this.runUntilDrained(stop);
        return RESTART_DELAY_MS;
      },
      {
        signal: stop,
        policy: RUNTIME_RESTART,
        sleep: this.sleep,
        random: this.random,
        onTransient: (error, _failures, delayMs) => {
          this.liveness.recordError();
          this.logger.log('error', `${describeError(error)} (retrying in ${Math.round(delayMs / 1000)} s)`);
        },
      },
    );
    if (end.kind === 'fatal') await this.idleAfterFatal(end.error as Error);
    else if (end.error !== undefined) this.reportStopFailure(end.error);
  }

  /** Configuration, secrets, then the metrics server (its registry may need the configuration). */
  private async prepare(): Promise<void> {
    const configuration = this.configuration;
    const redacting = this.redactingLogger();
    redacting.addSecrets([
      ...this.configurationValidator().secretValues(configuration),
      ...this.extraSecrets(configuration),
    ]);
    const moduleConfiguration = await untilStopped(this.module.configuration(), this.stopped);
    redacting.addSecrets(moduleSecretNames(this.module).map((name) => moduleConfiguration[name]));
    await this.startServer('metrics', this.options.metricsPort, 'metrics_port', 8020, (port) => {
      return new MetricsServer({ registry: this.metricsRegistry(), port });
    });
  }

  /** run(), but after a stop its result is awaited only until the drain deadline. */
  private async runUntilDrained(stop: AbortSignal): Promise<void> {
    const running = this.run(stop);
    // A race built per call on the signal, and undone after: chaining onto one long-lived
    // promise would keep every call's handlers alive until the stop (a leak per run()).
    const drain = this.drainController.signal;
    let onExpired: (() => void) | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      onExpired = () => {
        resolve('expired');
      };
      if (drain.aborted) onExpired();
      else drain.addEventListener('abort', onExpired, { once: true });
    });
    const outcome = await Promise.race([running.then(() => 'returned' as const), expired]).finally(() => {
      if (onExpired !== undefined) drain.removeEventListener('abort', onExpired);
    });
    if (outcome === 'expired') {
      running.catch(() => undefined);
      this.logger.log(
        'warning',
        `The trigger did not finish within ${this.drainTimeoutMs} ms of the stop request`,
      );
    }
  }

  /**
   * A fatal error cannot be fixed by retrying: one critical (the platform shows it and stops
   * the trigger), then no more calls to run() and no third-party traffic until stopped.
   */
  private async idleAfterFatal(error: Error): Promise<void> {
    this.logger.log('critical', error.message);
    // A restart cannot fix a setting either: keep the probe green so the pod is not restarted
    // into the same critical again (the push failures that led here no longer count).
    this.liveness.recordPushSuccess();
    this.liveness.clearSourceFailures();
    await this.stopped;
  }

  /** An abort is how a stop ends run(); anything else thrown while stopping is worth a line. */
  private reportStopFailure(error: unknown): void {
    if (isAbort(error)) return;
    this.logger.log('error', `The trigger failed while stopping: ${describeError(error)}`);
  }

  private isStopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private redactingLogger(): RedactingLogger {
    if (this.redacting === undefined) {
      const token = this.module.token();
      this.sink = this.options.logger ?? this.createDefaultLogger(new Redactor([token]));
      this.redacting = new RedactingLogger(this.sink, [token]);
    }
    return this.redacting;
  }

  private async startServer(
    kind: 'health' | 'metrics',
    option: number | false | undefined,
    setting: string,
    fallback: number,
    create: (port: number) => { start(): Promise<number>; stop(): Promise<void> },
  ): Promise<void> {
    if (option === false) return;
    const port = option ?? this.portSetting(setting, fallback);
    const server = create(port);
    try {
      this.boundPorts[kind] = await server.start();
      this.servers.push(server);
    } catch (error) {
      // Collection matters more than the probe: keep running, but say so.
      this.logger.log(
        'error',
        `Cannot serve ${kind} on port ${port}: ${describeError(error)}. Free the port or change the "${setting}" setting.`,
      );
    }
  }

  private portSetting(name: string, fallback: number): number {
    const value = Number.parseInt(this.module.loader.string(name) ?? '', 10);
    return Number.isInteger(value) && value >= 0 && value < 65_536 ? value : fallback;
  }

  private async shutdown(): Promise<void> {
    this.drainTimer.abort();
    // Whatever run() left behind (an abandoned push) must not outlive execute().
    this.drainController.abort();
    await Promise.allSettled(this.servers.splice(0).map((server) => server.stop()));
    // close(), not flush(): the final send is bounded in time, a down logs API cannot hold the exit.
    await this.sink?.close?.();
  }

  /** Where the configuration is read from, in order (the Python SDK's order for triggers). */
  protected readonly configurationNames: readonly [string, string] = [
    'trigger_configuration',
    'connector_configuration',
  ];

  /** The configuration as read, before validation; a missing one is a ConfigurationError. */
  protected rawConfiguration(): unknown {
    const loader = this.module.loader;
    const [first, second] = this.configurationNames;
    const raw = loader.load(first, 'json') ?? loader.load(second, 'json');
    if (raw === undefined) {
      throw new ConfigurationError(
        `The trigger has no configuration: create ${loader.volumePath}/trigger_configuration (or set TRIGGER_CONFIGURATION) with the trigger's settings.`,
        { field: 'trigger_configuration' },
      );
    }
    return raw;
  }

  private configurationValidator(): ConfigurationValidator<C> {
    if (this.validator === undefined) {
      try {
        this.validator = new ConfigurationValidator<C>(this.configurationSchema, {
          name: 'trigger configuration',
        });
      } catch (error) {
        throw new ConfigurationError(
          `The trigger's arguments schema is not a valid JSON Schema (${describeError(error)}). Fix "arguments" in the trigger file.`,
          { cause: error, field: 'arguments' },
        );
      }
    }
    return this.validator;
  }

  private createDefaultLogger(redactor: Redactor): Closable {
    return createModuleLogger({
      url: this.module.urlLogs(),
      token: this.module.token(),
      http: this.http,
      clock: this.clock,
      redactor,
    });
  }
}

function moduleSecretNames(module: Module): string[] {
  const schema = module.manifest.configuration as { secrets?: unknown } | undefined;
  return Array.isArray(schema?.secrets)
    ? schema.secrets.filter((s): s is string => typeof s === 'string')
    : [];
}

/** Resolves when `signal` aborts (immediately if it already has). */
function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}

/** `promise`, or an AbortError once `stopped` settles (the work itself is not cancelled). */
async function untilStopped<T>(promise: Promise<T>, stopped: Promise<void>): Promise<T> {
  promise.catch(() => undefined);
  return Promise.race([
    promise,
    stopped.then(() => {
      throw abortError();
    }),
  ]);
}
