// Public surface of the history layer: the record types, the file writer and reader, and the
// in-memory builder tests and generators use.
export * from './types.js';
export * from './errors.js';
export { HistoryRecorder, type CompletionExtra, type HistorySink } from './recorder.js';
export { HistoryWriter, type HistoryWriterOptions } from './writer.js';
export { HistoryBuilder } from './builder.js';
export { parseHistory, readHistory, MAX_HISTORY_LINE_CHARS } from './reader.js';
