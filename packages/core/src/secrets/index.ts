export { findSecretPaths, looksLikeSecretKey, secretValues, undeclaredConfigKeys, valueAt, type ConnectorSpec } from './secret-paths.ts';
