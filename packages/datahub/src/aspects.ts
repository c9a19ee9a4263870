/**
 * The DataHub aspects Sluice emits, in the JSON GMS's Rest.li API takes (what DataHub's Python
 * SDK sends after `pre_json_transform`): unions are objects keyed by the member's full name
 * (`{"com.linkedin.schema.NumberType": {}}`, `{"string": "COMMAND"}`), absent optionals are
 * left out. Only the fields Sluice fills are declared; names follow DataHub's PDL models.
 */

export interface AuditStamp {
  time: number;
  actor: string;
}

export type FieldTypeUnion =
  | { 'com.linkedin.schema.BooleanType': Record<string, never> }
  | { 'com.linkedin.schema.NumberType': Record<string, never> }
  | { 'com.linkedin.schema.StringType': Record<string, never> }
  | { 'com.linkedin.schema.BytesType': Record<string, never> }
  | { 'com.linkedin.schema.FixedType': Record<string, never> }
  | { 'com.linkedin.schema.DateType': Record<string, never> }
  | { 'com.linkedin.schema.TimeType': Record<string, never> }
  | { 'com.linkedin.schema.NullType': Record<string, never> }
  | { 'com.linkedin.schema.RecordType': Record<string, never> }
  | { 'com.linkedin.schema.ArrayType': { nestedType: string[] } }
  | { 'com.linkedin.schema.MapType': { keyType: string; valueType: string } };

export interface SchemaFieldDataType {
  type: FieldTypeUnion;
}

export interface SchemaField {
  fieldPath: string;
  nullable: boolean;
  description?: string;
  type: SchemaFieldDataType;
  nativeDataType: string;
  isPartOfKey?: boolean;
}

export interface SchemaMetadataAspect {
  schemaName: string;
  platform: string;
  version: number;
  hash: string;
  platformSchema: { 'com.linkedin.schema.OtherSchema': { rawSchema: string } };
  fields: SchemaField[];
  primaryKeys?: string[];
}

export interface DatasetPropertiesAspect {
  name: string;
  qualifiedName: string;
  description?: string;
  externalUrl?: string;
  customProperties: Record<string, string>;
  lastModified?: { time: number };
}

export interface StatusAspect {
  removed: boolean;
}

export interface SubTypesAspect {
  typeNames: string[];
}

export interface DataPlatformInstanceAspect {
  platform: string;
}

export interface DomainsAspect {
  domains: string[];
}

export interface GlobalTagsAspect {
  tags: { tag: string }[];
}

/** DataHub's OwnershipType values Sluice may use for `owner_id`. */
export type OwnershipType = 'TECHNICAL_OWNER' | 'DATAOWNER' | 'BUSINESS_OWNER' | 'DATA_STEWARD' | 'PRODUCER';

export interface OwnershipAspect {
  owners: { owner: string; type: OwnershipType }[];
}

export interface UpstreamLineageAspect {
  upstreams: { dataset: string; type: 'COPY' | 'TRANSFORMED' | 'VIEW'; auditStamp: AuditStamp }[];
}

export interface DatasetKeyAspect {
  platform: string;
  name: string;
  origin: string;
}

export interface DataFlowInfoAspect {
  name: string;
  description?: string;
  externalUrl?: string;
  customProperties: Record<string, string>;
  env: string;
}

export interface DataJobInfoAspect {
  name: string;
  description?: string;
  /** DataHub's job type union: a free string, as Airflow's plugin and the SDK's DataJob send `COMMAND`. */
  type: { string: string };
  externalUrl?: string;
  flowUrn: string;
  customProperties: Record<string, string>;
  env: string;
}

export interface DataJobInputOutputAspect {
  inputDatasets: string[];
  outputDatasets: string[];
  inputDatajobs: string[];
}

/** One aspect by name: the pairing GMS checks (`aspectName` must name the aspect's type). */
export type NamedAspect =
  | { aspectName: 'schemaMetadata'; aspect: SchemaMetadataAspect }
  | { aspectName: 'datasetProperties'; aspect: DatasetPropertiesAspect }
  | { aspectName: 'status'; aspect: StatusAspect }
  | { aspectName: 'subTypes'; aspect: SubTypesAspect }
  | { aspectName: 'dataPlatformInstance'; aspect: DataPlatformInstanceAspect }
  | { aspectName: 'domains'; aspect: DomainsAspect }
  | { aspectName: 'globalTags'; aspect: GlobalTagsAspect }
  | { aspectName: 'ownership'; aspect: OwnershipAspect }
  | { aspectName: 'upstreamLineage'; aspect: UpstreamLineageAspect }
  | { aspectName: 'datasetKey'; aspect: DatasetKeyAspect }
  | { aspectName: 'dataFlowInfo'; aspect: DataFlowInfoAspect }
  | { aspectName: 'dataJobInfo'; aspect: DataJobInfoAspect }
  | { aspectName: 'dataJobInputOutput'; aspect: DataJobInputOutputAspect };

export type AspectName = NamedAspect['aspectName'];

export type EntityType = 'dataset' | 'dataFlow' | 'dataJob';

/** A metadata change proposal before it is put on the wire: one aspect of one entity, UPSERT. */
export type Proposal = { entityType: EntityType; entityUrn: string } & NamedAspect;
