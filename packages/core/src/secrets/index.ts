export { findSecretPaths, looksLikeSecretKey, pathsToMask, secretValues, undeclaredConfigKeys, valueAt, type ConnectorSpec } from './secret-paths.ts';
