export * from './severity.ts';
export type * from './inventory.ts';
export type * from './finding.ts';
export type * from './report.ts';
export * from './fs.ts';
export type * from './policy.ts';
