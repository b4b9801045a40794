// The pure Raft core's public surface: the state machine and the vocabulary it speaks.
export * from './types.js';
export * from './messages.js';
export * from './raft.js';
export * from './membership.js';
