// The Node.js flags every broker process is started with by our launchers (`rmq cluster up`,
// `npm start`, `rmq bench --local`, the local cluster of the tests). V8 GC flags cannot be set
// once the process runs (v8.setFlagsFromString('--single-threaded-gc') aborts the process at the
// next GC), so they have to be on the command line; docs/operations.md gives the same command
// for brokers started by hand.
//
// --single-threaded-gc: V8 otherwise marks and scavenges with helper threads. A broker's heap is
// small (10-50 MB) and the machines we run on are often oversubscribed (three brokers and a
// client on two cores): the main thread then waits for helpers that are not scheduled. Measured
// with `rmq bench e2e --local` (pipelined 1 KiB, 3 interleaved pairs): 67-74 instead of 76-87 CPU
// us per message for the whole group and 18-23k instead of 15-21k msgs/s (docs/performance.md).
export const BROKER_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
