// Public API of the Raft library. Everything outside raft/ imports from here.
export * from './core/index.js';
export * from './storage/index.js';
export * from './transport/index.js';
export * from './node/index.js';
