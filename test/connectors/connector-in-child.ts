/**
 * Run as a separate process by connector-dirs.test.ts: starts the test connector's `read` (which
 * sleeps) through the same code a runner uses, so the test can kill this process mid-run. Says
 * "connector sleeping" on its stdout once the connector has written its last line before the sleep
 * (killed earlier, the connector could die writing to the closed pipe, as a real one would).
 * The connector forks a worker that sleeps as long (`fork`), as connectors with workers do.
 * Usage: connector-in-child.ts <sleepSeconds> [fork]
 */
import { runConnectorProcess } from '../../packages/connectors/src/connector-process.ts';

const sleepSeconds = Number(process.argv[2] ?? '5');
await runConnectorProcess({
  verb: 'read',
  files: { config: { sleep_seconds: sleepSeconds, canary: 'canary-in-a-dead-runner', fork_worker: process.argv[3] === 'fork' }, catalog: { streams: [] } },
  launch: (args) => ({ command: 'source-sluice-test', args }),
  maskStderr: (line) => line,
  onLine: (line) => {
    if (line.includes('sleeping')) process.stdout.write('connector sleeping\n');
  },
});
