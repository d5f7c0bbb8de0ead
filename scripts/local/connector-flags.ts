// The Node flags the connector's container runs with, read from the shipped manifest, so that local
// runs (end-to-end tests, chaos, benchmarks) run the connector as it is shipped.
import { readFileSync } from 'node:fs';

/** The Node flags of the connector container's `command: [node, ...flags, connector/main.ts]`. */
function connectorNodeFlags(manifest: string): string[] {
  const command = /command: \[node, (?:(.*), )?connector\/main\.ts\]/.exec(manifest);
  if (command === null)
    throw new Error('no `command: [node, ..., connector/main.ts]` in the connector manifest');
  return command[1]?.split(', ') ?? [];
}

/** The connector runs here as its container runs it: V8's flags change its memory and its speed. */
export function shippedConnectorNodeFlags(): string[] {
  return connectorNodeFlags(
    readFileSync(new URL('../../manifests/connector/connector.yaml', import.meta.url), 'utf8'),
  );
}
