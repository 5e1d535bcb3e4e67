/**
 * FetchNewLogsConfiguration (settings.ts) is written by hand; the trigger form's `arguments`
 * (trigger_fetch_new_logs.json) is what the platform validates. This test holds them together:
 * the compiler checks the table below against the interface (every key, each type, which are
 * optional), and the test checks the same table against the schema.
 */
import trigger from '../../trigger_fetch_new_logs.json';
import type { FetchNewLogsConfiguration } from '../../trigger_fetch_new_logs/settings';
import { STREAM_NAMES } from '../../trigger_fetch_new_logs/streams';

type Configuration = FetchNewLogsConfiguration;
type SchemaType<T> = T extends string
  ? 'string'
  : T extends number
    ? 'integer'
    : T extends readonly unknown[]
      ? 'array'
      : never;
/** The values a setting (or each item of a list setting) may take. */
type Value<T> = T extends readonly (infer Item)[] ? Item : T;

interface Field<T> {
  type: SchemaType<NonNullable<T>>;
  /** Optional in the interface: the schema must neither require it nor give it a default. */
  optional: undefined extends T ? true : false;
  /** For enumerations (of the value, or of each item of a list). */
  values?: readonly Value<NonNullable<T>>[];
}

const FIELDS: { readonly [K in keyof Configuration]-?: Field<Configuration[K]> } = {
  service_url: { type: 'string', optional: false },
  username: { type: 'string', optional: false },
  api_key: { type: 'string', optional: false },
  intake_key: { type: 'string', optional: false },
  intake_server: { type: 'string', optional: true },
  log_types: { type: 'array', optional: false, values: STREAM_NAMES },
  frequency: { type: 'integer', optional: false },
  batch_size: { type: 'integer', optional: false },
  start_time: { type: 'integer', optional: false },
  timedelta: { type: 'integer', optional: false },
  late_window: { type: 'integer', optional: true },
  max_parallel_requests: { type: 'integer', optional: true },
  output_format: { type: 'string', optional: false, values: ['raw', 'ecs'] },
};

interface Property {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  items?: { enum?: unknown[] };
}
const schema = trigger.arguments as { properties: Record<string, Property>; required: string[] };

describe('FetchNewLogsConfiguration against the trigger form (arguments)', () => {
  it('has exactly the settings of the form', () => {
    expect(Object.keys(FIELDS).sort()).toEqual(Object.keys(schema.properties).sort());
  });

  it.each(Object.entries(FIELDS))(
    'types "%s" as the form does',
    (name, field: { type: string; optional: boolean; values?: readonly unknown[] }) => {
      const property = schema.properties[name]!;
      expect(property.type).toBe(field.type);
      const present = schema.required.includes(name) || property.default !== undefined;
      // Always present after validation (required, or defaulted) ⇔ not optional in the interface.
      // intake_server and late_window have defaults but stay optional: configurations written
      // before they existed, and the collector's own callers, may omit them.
      if (!field.optional) expect(present).toBe(true);
      if (field.optional) expect(schema.required).not.toContain(name);
      const values = property.enum ?? property.items?.enum;
      expect(values).toEqual(field.values === undefined ? undefined : [...field.values]);
    },
  );
});
