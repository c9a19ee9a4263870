export * from './task-types.ts';
export * from './dag-spec.ts';
export * from './instance-graph.ts';
