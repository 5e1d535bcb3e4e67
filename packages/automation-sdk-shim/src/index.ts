export * from './errors';
export * from './time';
export * from './retry';
export * from './logger';
export * from './config';
export * from './http';
export * from './storage/checkpoint-store';
