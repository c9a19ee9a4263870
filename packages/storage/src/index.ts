export type { ObjectInfo, ObjectStore, PrefixOptions } from './object-store.ts';
export { openObjectStore, type OpenObjectStoreOptions } from './open-object-store.ts';
export { FileObjectStore } from './file-object-store.ts';
export { S3ObjectStore, type S3ObjectStoreOptions, type StoreStall } from './s3-object-store.ts';
