import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const schemasDir = path.resolve(__dirname, '../../schemas');

/** A compiled validator for one file of schemas/ (strict draft-07, with formats). */
export function schemaValidator(name: string): ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(fs.readFileSync(path.join(schemasDir, name), 'utf8')));
}

/** The ECS schema a normalised document must follow, by its dataset (policy events or mail tracking). */
export function ecsValidatorFor(document: Record<string, unknown>): ValidateFunction {
  const event = document.event as { kind?: unknown; dataset?: unknown };
  const policy = event.kind === 'alert' || event.dataset === 'trend_micro_email_security.policy_events';
  return policy ? ecsPolicy : ecsMail;
}

const ecsMail = schemaValidator('ecs-mail-tracking.schema.json');
const ecsPolicy = schemaValidator('ecs-policy-event.schema.json');

/** Validation errors as readable text (empty when valid), for toEqual([]) assertions. */
export function schemaErrors(validate: ValidateFunction, value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

/** Paths of null, {} or [] anywhere in a document: the normaliser must never emit them. */
export function emptyValuePaths(value: unknown, at = ''): string[] {
  if (value === null) return [at];
  if (Array.isArray(value)) {
    return value.length === 0 ? [at] : value.flatMap((item, i) => emptyValuePaths(item, `${at}[${i}]`));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [at];
    return entries.flatMap(([key, item]) => emptyValuePaths(item, at === '' ? key : `${at}.${key}`));
  }
  return typeof value === 'undefined' ? [at] : [];
}
