export { resolveConnector, connectorsSettings, DEFAULT_CONNECTORS_DIR } from './resolve-connector.ts';
export type { ResolveConnectorOptions } from './resolve-connector.ts';
export { Connector, parseMessage } from './connector.ts';
export type { CheckResult, CommandOutcome, ConnectorCommandOptions, ConnectorSource } from './connector.ts';
export { runExtract } from './run-extract.ts';
export { streamKeySegment } from './staging-writer.ts';
export { withoutRepeatedMembers } from './record-line.ts';
export type { ExtractProgress, ExtractResult, RunExtractOptions, StreamProgress, StreamRepairs } from './run-extract.ts';
export { buildConfiguredCatalog } from './configured-catalog.ts';
export type { WriteMode } from './configured-catalog.ts';
export { extractManifestKey, extractManifestSchema, readExtractManifest, readExtractManifestAt } from './extract-manifest.ts';
export type { ExtractManifest, ExtractedStream, UnreadStream } from './extract-manifest.ts';
export { extractCheckpointKey, readExtractCheckpoint } from './extract-checkpoint.ts';
export type { ExtractCheckpoint } from './extract-checkpoint.ts';
export { connectorFailure, isRetryableReason } from './connector-failure.ts';
export type { ConnectorFailure, ConnectorFailureReason } from './connector-failure.ts';
export { SecretMasker } from './connector-log.ts';
export type { ConnectorLogEntry, ConnectorLogHandler, ConnectorLogLevel } from './connector-log.ts';
export { collectSecretValues } from './secret-values.ts';
export { installPythonConnector, PythonInstallError, INSTALL_MARKER } from './install-python-connector.ts';
export type { InstallMarker, PythonInstall } from './install-python-connector.ts';
export { probeDockerEngine } from './docker-engine.ts';
export { makeProcessDir, processDirPath, removeOrphanedConnectorDirs, removeOrphanedProcessDirs } from './connector-dirs.ts';
export type {
  AirbyteCatalog,
  AirbyteStateMessage,
  AirbyteStream,
  ConfiguredAirbyteCatalog,
  ConfiguredAirbyteStream,
  ConnectorConfig,
  ConnectorSpecification,
  DestinationSyncMode,
  StreamStatus,
  SyncMode,
} from './protocol.ts';
export { airbyteCatalogSchema } from './protocol.ts';
