export { findSecretPaths, looksLikeSecretKey, secretValues, valueAt, type ConnectorSpec } from './secret-paths.ts';
