import { ConfigurationError } from '../src/errors';
import { Redactor } from '../src/logger';
import { ConfigurationValidator, type ConfigurationSchema } from '../src/validation';

interface Settings {
  service_url: string;
  username: string;
  api_key: string;
  intake_key: string;
  batch_size: number;
  frequency: number;
  output_format: 'raw' | 'ecs';
  verify_tls: boolean;
}

const schema: ConfigurationSchema = {
  type: 'object',
  title: 'Fetch new logs',
  properties: {
    service_url: {
      type: 'string',
      format: 'uri',
      description: 'The TMES API root, e.g. https://api.tmes.trendmicro.eu',
    },
    username: { type: 'string', minLength: 1 },
    api_key: { type: 'string', minLength: 8, description: 'The TMES API key' },
    intake_key: { type: 'string', minLength: 1 },
    batch_size: { type: 'integer', minimum: 1, maximum: 500, default: 500, description: 'Records per page' },
    frequency: { type: 'integer', minimum: 1, default: 60 },
    output_format: { type: 'string', enum: ['raw', 'ecs'], default: 'raw' },
    verify_tls: { type: 'boolean', default: true },
  },
  required: ['service_url', 'username', 'api_key', 'intake_key'],
  secrets: ['api_key'],
};

const valid = {
  service_url: 'https://api.tmes.trendmicro.eu',
  username: 'collector',
  api_key: 'k3y-that-is-long-enough',
  intake_key: 'intake-123',
};

function validationError(validator: ConfigurationValidator<Settings>, value: unknown): ConfigurationError {
  try {
    validator.validate(value);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('validate() accepted an invalid configuration');
}

describe('ConfigurationValidator', () => {
  const validator = new ConfigurationValidator<Settings>(schema, { name: 'trigger configuration' });

  it('applies defaults on a new object and leaves the input untouched', () => {
    const input = { ...valid };
    const settings = validator.validate(input);

    expect(settings).toEqual({
      ...valid,
      batch_size: 500,
      frequency: 60,
      output_format: 'raw',
      verify_tls: true,
    });
    expect(input).toEqual(valid);
  });

  it('coerces the strings a form may send', () => {
    const settings = validator.validate({
      ...valid,
      batch_size: '250',
      frequency: '30',
      verify_tls: 'false',
    });

    expect(settings.batch_size).toBe(250);
    expect(settings.frequency).toBe(30);
    expect(settings.verify_tls).toBe(false);
  });

  it('lists every wrong field once, by name, in problems and in the message', () => {
    const error = validationError(validator, {
      service_url: 'https://api.tmes.trendmicro.eu',
      username: 'collector',
      api_key: 'k3y-that-is-long-enough',
      batch_size: 900,
      output_format: 'xml',
    });

    expect(error.problems).toHaveLength(3);
    expect(error.problems).toEqual([
      expect.stringMatching(/^"intake_key" is required/),
      '"batch_size" must be <= 500 (Records per page)',
      '"output_format" must be one of "raw", "ecs"',
    ]);
    for (const problem of error.problems) expect(error.message).toContain(problem);
    expect(error.message).toContain('trigger configuration');
    expect(error.field).toBe('intake_key');
  });

  it('never echoes a value, secret or not', () => {
    const secret = 'short';
    const error = validationError(validator, { ...valid, api_key: secret, service_url: 'not a url at all' });

    expect(error.problems).toEqual([
      '"service_url" must match format "uri" (The TMES API root, e.g. https://api.tmes.trendmicro.eu)',
      '"api_key" must NOT have fewer than 8 characters (The TMES API key)',
    ]);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('not a url at all');
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('reports a wrong type that cannot be coerced', () => {
    const error = validationError(validator, { ...valid, batch_size: 'many' });
    expect(error.problems).toEqual(['"batch_size" must be integer (Records per page)']);
  });

  it('rejects a configuration that is not an object', () => {
    for (const value of [null, 'text', [valid], 42]) {
      expect(validationError(validator, value).message).toMatch(
        /trigger configuration must be a JSON object/,
      );
    }
  });

  it('names unknown settings when the schema forbids them', () => {
    const strict = new ConfigurationValidator<Settings>({ ...schema, additionalProperties: false });
    expect(validationError(strict, { ...valid, typo_key: 1 }).problems).toEqual([
      '"typo_key" is not a known setting: remove it',
    ]);
  });

  it('redacts secret values and lists them for a Redactor', () => {
    expect(validator.secretNames).toEqual(['api_key']);
    expect(validator.redact(valid)).toEqual({ ...valid, api_key: '***' });
    expect(validator.redact({ username: 'u' })).toEqual({ username: 'u' });
    expect(validator.secretValues(valid)).toEqual([valid.api_key]);

    const redactor = new Redactor(validator.secretValues(valid));
    expect(redactor.redact(`key=${valid.api_key}`)).toBe('key=***');
  });

  it('accepts the non-standard secrets keyword but still rejects unknown keywords', () => {
    expect(() => new ConfigurationValidator({ ...schema, secret: ['typo'] })).toThrow(/unknown keyword/);
  });
});
