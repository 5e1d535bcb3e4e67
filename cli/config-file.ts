import { readFileSync } from 'node:fs';
import {
  ConfigurationError,
  ConfigurationValidator,
  Redactor,
  type ConfigurationSchema,
} from '@sekoia/automation-sdk-shim';
import triggerManifest from '../trigger_fetch_new_logs.json';
import { parseServiceUrl } from '../trigger_fetch_new_logs/service-url';
import {
  toCollectorSettings,
  type CollectorSettings,
  type FetchNewLogsConfiguration,
} from '../trigger_fetch_new_logs/settings';

/** A configuration file, read and checked against the trigger form's own schema. */
export interface LoadedConfiguration {
  /** The file as written (the trigger validates it again, exactly as on the platform). */
  readonly raw: Record<string, unknown>;
  readonly configuration: FetchNewLogsConfiguration;
  readonly settings: CollectorSettings;
  /** Hides api_key and intake_key in anything printed. */
  readonly redactor: Redactor;
  readonly warnings: readonly string[];
}

const schema = triggerManifest.arguments as ConfigurationSchema;
/** config.example.json ships these: "<your Login ID>" and the like. */
const PLACEHOLDER = /^<.*>$/s;

/**
 * Reads `path` (JSON with the keys of the trigger form) and validates it with the trigger's
 * schema. Every problem is listed at once, values are never quoted, and settings still holding
 * a placeholder from config.example.json are named. `fields` are the settings the command
 * really uses (check needs no intake key).
 */
export function loadConfigurationFile(path: string, fields: readonly string[]): LoadedConfiguration {
  const raw = readJsonObject(path);
  const redactor = new Redactor([raw.api_key, raw.intake_key]);
  const problems: string[] = [];
  let configuration: FetchNewLogsConfiguration | undefined;
  try {
    configuration = new ConfigurationValidator<FetchNewLogsConfiguration>(schema, {
      name: `configuration in ${path}`,
    }).validate(raw);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
  }
  for (const field of fields) {
    const value = raw[field];
    if (typeof value === 'string' && PLACEHOLDER.test(value.trim())) {
      problems.push(`"${field}" still holds the placeholder of config.example.json: put your own value.`);
    } else if (field === 'service_url' && typeof value === 'string') {
      const problem = serviceUrlProblem(value);
      if (problem !== undefined) problems.push(problem);
    }
  }
  if (problems.length > 0 || configuration === undefined) {
    const unique = [...new Set(problems)];
    throw new ConfigurationError(
      `${path} is not a usable configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}); fix these settings:\n` +
        unique.map((p) => `- ${p}`).join('\n'),
      { problems: unique },
    );
  }
  const { settings, warnings } = toCollectorSettings(configuration);
  return { raw, configuration, settings, redactor, warnings };
}

function serviceUrlProblem(value: string): string | undefined {
  try {
    parseServiceUrl(value);
    return undefined;
  } catch (error) {
    return error instanceof ConfigurationError ? error.message : String(error);
  }
}

function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : (code ?? 'unreadable');
    throw new ConfigurationError(
      `Cannot read the configuration file ${path} (${why}). Copy config.example.json to ${path} and fill in your tenant's values.`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    // JSON.parse quotes the text around the fault, which may be the API key: give a position only.
    throw new ConfigurationError(`${path} is not valid JSON${position(text, error)}. Fix the file.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(
      `${path} must hold one JSON object with the settings of the trigger form (see config.example.json).`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** " (line L, column C)" from a JSON.parse error, when it gives a position. */
function position(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const match = /position (\d+)/.exec(message);
  if (match?.[1] === undefined) return '';
  const offset = Number(match[1]);
  const before = text.slice(0, offset).split('\n');
  return ` (line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1})`;
}
