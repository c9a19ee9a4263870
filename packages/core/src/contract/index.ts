export { formatIssuePath, fieldIssues, parseRequest } from './parse-request.ts';
export { icebergNamespace } from './iceberg-namespace.ts';
export { text } from './text.ts';
export { isUuid } from './ids.ts';
export {
  columnTransformationInput,
  columnTransformationView,
  normalizeColumnTransformation,
  columnTransformationToView,
  TRANSFORMATION_TYPES,
} from './column-transformation.ts';
export type { ColumnTransformationInput, ColumnTransformationView } from './column-transformation.ts';
export { createIngestJobRequest, parseCreateIngestJob, parseMergeKeys, checkSchedule, sourceName, WRITE_MODES } from './create-ingest-job.ts';
export type { CreateIngestJobRequest, IngestJobSpec, WriteModeName } from './create-ingest-job.ts';
export * from './job-views.ts';
export { updateJobRequest, parseUpdateJobRequest, refuseDefinitionChanges, listJobsQuery, listRunsQuery, taskLogQuery, taskLogTextQuery, queriedTry, clearTaskQuery, queryInteger, resetStateQuery, LOG_PAGE_LINES, LOG_PAGE_MAX } from './job-requests.ts';
export type { UpdateJobRequest, ListJobsQuery, ListRunsQuery, ResetStateQuery, TaskLogQuery, TaskLogTextQuery } from './job-requests.ts';
export { encryptionKeyName, createEncryptionKeyRequest, encryptionKeyView, encryptionKeyListView } from './encryption-keys.ts';
export type { EncryptionKeyView } from './encryption-keys.ts';
export { putStateRequest, parseStateImport, STATE_IMPORT_MAX_MESSAGES, type ImportedState } from './state-import.ts';
