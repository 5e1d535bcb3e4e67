export * from './errors';
export * from './time';
export * from './retry';
export * from './logger';
export * from './storage/checkpoint-store';
