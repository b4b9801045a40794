// Public API of retention, flushing and disk space (what the broker wires in; see docs/storage.md
// "Retention" and "Flush").
export { CleanService, DEFAULT_RETENTION_CONFIG, parseDeleteWhen, type CleanReason, type CleanReport, type CleanServiceDeps, type RetentionConfig, type SegmentedLog } from './clean-service.js';
export { DiskFullError, statfsUsage, type DiskUsage, type DiskUsageProbe } from '../disk-usage.js';
export { StoreFlushService, DEFAULT_FLUSH_INTERVAL_CONSUME_QUEUE_MS, type StoreFlushServiceOptions } from '../flush-service.js';
