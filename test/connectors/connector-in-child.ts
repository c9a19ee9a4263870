/**
 * Run as a separate process by connector-dirs.test.ts: starts the test connector's `read` (which
 * sleeps) through the same code a runner uses, so the test can kill this process mid-run.
 * Usage: connector-in-child.ts <sleepSeconds>
 */
import { runConnectorProcess } from '../../packages/connectors/src/connector-process.ts';

const sleepSeconds = Number(process.argv[2] ?? '5');
await runConnectorProcess({
  verb: 'read',
  files: { config: { sleep_seconds: sleepSeconds, canary: 'canary-in-a-dead-runner' }, catalog: { streams: [] } },
  launch: (args) => ({ command: 'source-sluice-test', args }),
  onLine: () => undefined,
});
