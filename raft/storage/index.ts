// Public surface of the Raft log storage: the mmap log, its entry layout (the store reads
// message records out of the data files by global byte position), its typed errors, and the
// MappedFile primitive the store builds its own files on.
export type { EntryLocation, FlushPolicy, LogStorage, StartAppSource } from './log-storage.js';
export { MmapLogStorage, type MmapLogStorageOptions } from './mmap-log-storage.js';
export { ENTRY_HEADER_BYTES, ENTRY_MAGIC, SEGMENT_END_MAGIC, INDEX_RECORD_BYTES, EntryHeader } from './entry-codec.js';
export type { RecoveryReport } from './recovery.js';
export { LogStorageError, type LogStorageErrorCode } from './storage-errors.js';
export { decodeStartData, encodeStartData, MAX_START_APP_BYTES, type StartData } from './state-files.js';
export { MappedFile, MAX_MAPPED_FILE_BYTES } from './mapped-file.js';
export { BOOT_ID_ENV } from './run-marker.js';
export type { FileLayer, FileSyncCallback, MappedRegion } from './file-layer.js';
export { realFileLayer } from './real-file-layer.js';
export { SimFileLayer, type PowerLossReport } from './sim-file-layer.js';
export { fileLayerFromEnv, lazyFileLayer, lyingFsyncFileLayer, LYING_FSYNC, LAZY_FS_ENV, revertToDurable, type RevertReport } from './lazy-fs.js';
