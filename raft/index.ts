// Public API of the Raft library. Everything outside raft/ imports from here.
export * from './core/types.js';
export type * from './storage/log-storage.js';
