import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ConfigurationError } from './errors';

/**
 * A configuration's JSON Schema (draft-07), as found in `manifest.json` (`configuration`) or an
 * item file (`arguments`), with the Sekoia extension `secrets`: the names of the properties
 * whose values must never be shown.
 */
export interface ConfigurationSchema {
  type?: 'object';
  properties?: Record<string, object>;
  required?: string[];
  secrets?: string[];
  [k: string]: unknown;
}

export interface ConfigurationValidatorOptions {
  /** How messages name the document, e.g. 'trigger configuration'. */
  name?: string;
}

const REDACTED = '***';

/**
 * One schema drives everything about a configuration: validation (every problem reported at
 * once), defaults, type coercion (a form may send "60" for 60) and which values are secret.
 */
export class ConfigurationValidator<T> {
  readonly secretNames: readonly string[];
  private readonly name: string;
  private readonly schema: ConfigurationSchema;
  private readonly check: ValidateFunction;

  constructor(schema: ConfigurationSchema, options: ConfigurationValidatorOptions = {}) {
    this.schema = schema;
    this.name = options.name ?? 'configuration';
    this.secretNames = [...(schema.secrets ?? [])];
    this.check = compile(schema);
  }

  /** A new object with defaults applied and types coerced; throws ConfigurationError listing every problem. */
  validate(value: unknown): T {
    if (!isRecord(value)) {
      throw new ConfigurationError(
        `The ${this.name} must be a JSON object, got ${describeType(value)}. Fix the ${this.name}.`,
      );
    }
    // ajv applies defaults and coercions in place: work on a copy so the caller's object stays as read.
    const copy = structuredClone(value);
    if (this.check(copy)) return copy as T;
    const problems = [...new Set((this.check.errors ?? []).map((e) => this.describe(e)))];
    throw new ConfigurationError(
      `The ${this.name} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); fix these settings:\n` +
        problems.map((p) => `- ${p}`).join('\n'),
      { problems, field: fieldOf(this.check.errors?.[0]) },
    );
  }

  /** A copy with every secret value replaced by `***`, safe to log or display. */
  redact(value: unknown): Record<string, unknown> {
    if (!isRecord(value)) return {};
    const copy: Record<string, unknown> = { ...value };
    for (const name of this.secretNames) {
      if (copy[name] !== undefined && copy[name] !== null) copy[name] = REDACTED;
    }
    return copy;
  }

  /** The secret values present in `value`, to build a Redactor. */
  secretValues(value: unknown): string[] {
    if (!isRecord(value)) return [];
    return this.secretNames
      .map((name) => value[name])
      .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
      .map(String);
  }

  /**
   * One line per problem, naming the field, never quoting its value (ajv is not in verbose
   * mode, and its messages only mention the schema), so a wrong api_key is never printed.
   */
  private describe(error: ErrorObject): string {
    const field = fieldOf(error) ?? this.name;
    const hint = this.hintFor(field);
    switch (error.keyword) {
      case 'required':
        return `"${field}" is required${hint}`;
      case 'additionalProperties':
        return `"${field}" is not a known setting: remove it`;
      case 'minLength':
        if ((error.params as { limit?: number }).limit === 1) return `"${field}" is empty${hint}`;
        return `"${field}" ${error.message ?? 'is too short'}${hint}`;
      case 'enum': {
        const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
        return `"${field}" must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${hint}`;
      }
      default:
        return `"${field}" ${error.message ?? 'is invalid'}${hint}`;
    }
  }

  /** The property's description, as a reminder of what the setting is. */
  private hintFor(field: string): string {
    const property = this.schema.properties?.[field] as { description?: unknown } | undefined;
    const description = property?.description;
    return typeof description === 'string' && description.trim() !== '' ? ` (${description.trim()})` : '';
  }
}

function compile(schema: ConfigurationSchema): ValidateFunction {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    coerceTypes: true,
    removeAdditional: false,
    // Unknown keywords are schema bugs and must fail loudly; type-strictness warnings would
    // only print to the console.
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
  });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'secrets', schemaType: 'array' });
  return ajv.compile(schema);
}

/** The dotted path of the field an error is about (`batch_size`, `proxy.host`). */
function fieldOf(error: ErrorObject | undefined): string | undefined {
  if (error === undefined) return undefined;
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const leaf = params.missingProperty ?? params.additionalProperty;
  if (leaf !== undefined) segments.push(leaf);
  return segments.length === 0 ? undefined : segments.join('.');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
