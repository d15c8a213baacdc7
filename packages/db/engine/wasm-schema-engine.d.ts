// Types for the plain-JavaScript engine module (it runs unbuilt, as the CLI's schema engine).
export interface MigrationFileContent {
  tag: 'ok' | 'error';
  value: string;
}
export interface MigrationsList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  shadowDbInitScript: string;
  migrationDirectories: { path: string; migrationFile: { path: string; content: MigrationFileContent } }[];
}
export interface SchemaFilter {
  externalTables: string[];
  externalEnums: string[];
}
export interface OpenedSchemaEngine {
  call(method: string, params?: unknown): Promise<unknown>;
  close(): Promise<void>;
}
export function openSchemaEngine(options: {
  url: string;
  datamodels: [string, string][];
  log?: (message: unknown) => void;
}): Promise<OpenedSchemaEngine>;
export function readMigrationsList(migrationsDir: string): Promise<MigrationsList>;
export function filterScript(script: string, allowances: { manualIndexes: Set<string>; extensions: Set<string> }): string;
export function driftAllowances(list: Pick<MigrationsList, 'migrationDirectories'>): {
  manualIndexes: Set<string>;
  extensions: Set<string>;
};
export function wasmEngineVersion(): Promise<string>;
export function takePanicMessage(): string | undefined;
export const EMPTY_FILTERS: SchemaFilter;
