/**
 * STREAM_NAMES (streams.ts) is the one list of the log types in code. JSON files cannot import
 * it: this test holds each JSON copy to it, so adding a stream fails here until all follow.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { STREAM_NAMES, STREAMS } from '../../trigger_fetch_new_logs/streams';

const root = resolve(__dirname, '../..');
const json = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(resolve(root, name), 'utf8')) as Record<string, unknown>;

interface Form {
  arguments: { properties: { log_types: { default: unknown; items: { enum: unknown } } } };
}

describe('the stream names have one source', () => {
  it.each(['trigger_fetch_new_logs.json', 'connector_fetch_new_logs.json'])(
    '%s offers and defaults to exactly STREAM_NAMES',
    (file) => {
      const logTypes = (json(file) as unknown as Form).arguments.properties.log_types;
      expect(logTypes.items.enum).toEqual([...STREAM_NAMES]);
      expect(logTypes.default).toEqual([...STREAM_NAMES]);
    },
  );

  it('config.example.json collects them all', () => {
    expect(json('config.example.json').log_types).toEqual([...STREAM_NAMES]);
  });

  it('the checkpoint schema accepts exactly them, each with a legacy last_timestamp entry', () => {
    const schema = json('schemas/checkpoint-head.schema.json') as {
      properties: Record<string, unknown>;
      definitions: { streamName: { enum: unknown } };
    };
    expect(schema.definitions.streamName.enum).toEqual([...STREAM_NAMES]);
    const legacy = Object.keys(schema.properties).filter((k) => k !== 'version' && k !== 'streams');
    expect(legacy).toEqual([...STREAM_NAMES]);
  });

  it('every name has its endpoint definition', () => {
    expect(Object.keys(STREAMS)).toEqual([...STREAM_NAMES]);
    for (const name of STREAM_NAMES) expect(STREAMS[name].name).toBe(name);
  });
});
