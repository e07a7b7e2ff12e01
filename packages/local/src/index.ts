export * from './build';
export * from './database-server';
export * from './migrate';
export * from './postgres';
export * from './sql-http';
export * from './workers';
