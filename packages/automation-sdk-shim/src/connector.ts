import type { Registry } from 'prom-client';
import { ConfigurationError } from './errors';
import type { LivenessOptions } from './health';
import type { HttpClient } from './http';
import { IntakeClient, type PushResult } from './intake';
import { ConnectorMetrics } from './metrics';
import { Trigger, type TriggerOptions } from './trigger';

/** What every connector configuration holds (the Python SDK's base model). */
export interface ConnectorConfiguration {
  intake_key: string;
  intake_server?: string;
}

export interface ConnectorOptions extends TriggerOptions {
  /** HTTP client for the intake pushes (default: 30 s timeout); tests shorten its timeout. */
  intakeHttp?: HttpClient;
}

/** A liveness probe fails after 15 min of failing pushes without a success. */
const PUSH_FAILURE_THRESHOLD_SECONDS = 900;

/**
 * A trigger that forwards events to a Sekoia intake. Adds the SDK's connector metrics (served
 * by the metrics server; modules register their own metrics in `metrics.registry`) and
 * pushEvents(), whose result only exists when the intake acknowledged every event.
 */
export abstract class Connector<C extends ConnectorConfiguration> extends Trigger<C> {
  readonly metrics: ConnectorMetrics;
  private intakeClient: IntakeClient | undefined;
  private readonly intakeHttp: HttpClient | undefined;

  constructor(options: ConnectorOptions) {
    super(options);
    this.intakeHttp = options.intakeHttp;
    // Built now so subclasses can register metrics in their constructor; the label is read
    // without validation, which happens in execute() where a bad configuration is reported.
    this.metrics = new ConnectorMetrics({ intakeKey: this.peekIntakeKey() });
  }

  /**
   * Pushes events and resolves once every one was acknowledged by the intake or deliberately
   * discarded (oversized, refused alone with 400/413): commit a checkpoint only after this
   * resolves. Otherwise it throws; a DeliveryError's `acknowledged` lists the events not to
   * send again (record them as delivered), the others must be sent again. A stop does not abort
   * it; the drain deadline does.
   */
  protected async pushEvents(events: readonly (string | object)[]): Promise<PushResult> {
    return this.intake().push(events, { signal: this.drainSignal });
  }

  /** Like the Python SDK's Connector: its own configuration first, the trigger's as fallback. */
  protected override readonly configurationNames: readonly [string, string] = [
    'connector_configuration',
    'trigger_configuration',
  ];

  /** Delivery is what matters: failing pushes make the probe fail, a quiet source does not. */
  protected override livenessThresholds(): Omit<LivenessOptions, 'clock'> {
    return {
      secondsWithoutEventsThreshold: 0,
      pushFailureThresholdSeconds: PUSH_FAILURE_THRESHOLD_SECONDS,
    };
  }

  protected override metricsRegistry(): Registry {
    return this.metrics.registry;
  }

  private intake(): IntakeClient {
    const intakeKey = (this.configuration as { intake_key?: unknown }).intake_key;
    // A subclass schema that forgot to require it must not turn into a retried TypeError.
    if (typeof intakeKey !== 'string' || intakeKey.trim() === '') {
      throw new ConfigurationError(
        'The "intake_key" setting is missing: set it to the key of your Sekoia intake.',
        {
          field: 'intake_key',
        },
      );
    }
    this.intakeClient ??= new IntakeClient({
      url: this.intakeUrl(),
      intakeKey,
      logger: this.logger,
      clock: this.clock,
      sleep: this.sleep,
      random: this.random,
      metrics: this.metrics,
      liveness: this.liveness,
      userAgent: this.userAgent(),
      ...(this.intakeHttp === undefined ? {} : { http: this.intakeHttp }),
    });
    return this.intakeClient;
  }

  private intakeUrl(): string {
    const configured = this.configuration.intake_server?.trim();
    const url = configured === undefined || configured === '' ? this.module.intakeUrl() : configured;
    if (url === undefined) {
      throw new ConfigurationError(
        'No intake address: set "intake_server" in the connector configuration (e.g. https://intake.sekoia.io), or provide the intake_url setting.',
        { field: 'intake_server' },
      );
    }
    return url;
  }

  /** The Sekoia convention for third-party-facing clients: sekoiaio-connector/<slug>-<version>. */
  private userAgent(): string {
    const { slug, version } = this.module.manifest;
    return typeof slug === 'string' && typeof version === 'string'
      ? `sekoiaio-connector/${slug}-${version}`
      : 'sekoiaio-connector';
  }

  private peekIntakeKey(): string {
    try {
      const raw = this.rawConfiguration() as { intake_key?: unknown } | null;
      return typeof raw?.intake_key === 'string' ? raw.intake_key : '';
    } catch {
      return '';
    }
  }
}
