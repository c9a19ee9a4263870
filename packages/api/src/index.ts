export { checkPortFree, createApiServer } from './create-api-server.ts';
export type { ApiServer, ApiServerDeps } from './create-api-server.ts';
export { loadApiConfig, apiConfigSchema } from './config.ts';
export type { ApiConfig } from './config.ts';
export type { JobEngine } from './engine-port.ts';
export type { CheckConnection, GetConnectorSpec } from './jobs/validate-source-config.ts';
export type { DiscoverCatalog, SourceCatalog } from './jobs/validate-against-catalog.ts';
export { SCOPES } from './auth/principal.ts';
export type { Principal, Scope } from './auth/principal.ts';
