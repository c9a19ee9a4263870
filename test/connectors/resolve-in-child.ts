/**
 * Run as a separate process by source-faker.test.ts: resolves a connector into the given
 * connectors directory and prints what it got, so two processes can race for the same install.
 * Usage: resolve-in-child.ts <sourceName> <connectorsDir> [version]
 */
import { resolveConnector, type ConnectorLogEntry } from '@sluice/connectors';

const [sourceName, connectorsDir, version] = process.argv.slice(2);
if (!sourceName || !connectorsDir) throw new Error('usage: resolve-in-child.ts <sourceName> <connectorsDir> [version]');
const logs: ConnectorLogEntry[] = [];
const connector = await resolveConnector(sourceName, { connectorsDir, version: version ?? null, docker: false, onLog: (e) => logs.push(e) });
process.stdout.write(`${JSON.stringify({ source: connector.source, logs })}\n`);
