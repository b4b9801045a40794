// Public surface of the nemesis layer: the kinds, the mix schedule, healAll, the name registry.
export { Nemesis, type NemesisContext, type FaultDetail } from './nemesis.js';
export * from './partition-nemeses.js';
export * from './process-nemeses.js';
export * from './link-nemeses.js';
export { healAll, type HealSummary } from './heal-all.js';
export { runMix, DEFAULT_FAULT_MS, DEFAULT_HEAL_MS, type MixOptions, type MixSummary } from './mix.js';
export { NEMESIS_FACTORIES, NEMESIS_NAMES, parseNemesisList, UnknownNemesisError } from './registry.js';
export { MembershipNemesis, membership, type MembershipControl, type MemberChangeKind } from './membership-nemesis.js';
