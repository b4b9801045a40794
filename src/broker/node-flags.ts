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

// glibc malloc settings for every broker process, set the same way (they are read once, at
// process start). The send path allocates large short-lived buffers: a follower assembles each
// AppendEntries frame (up to megabytes) from socket chunks, the leader joins one turn's records
// into one Raft entry and a batch request's frame from its chunks. With glibc's defaults a block
// over the (adaptive) mmap threshold is a fresh mapping, and freed memory at the top of the heap is
// given back to the kernel, so each new buffer's pages are first-touch page faults again: in this
// VM about 3-4 us per KiB, several times the cost of the copy itself (a follower's
// `Buffer.concat`/frame merge was 10-20 % of its CPU profile). A fixed high mmap threshold keeps
// such buffers in the heap, and a high trim threshold keeps freed heap pages mapped for the next
// one. Measured with `rmq bench produce --local` (docs/performance.md): about a quarter less CPU per
// message on followers, half the minor faults. The cost is that up to the trim threshold of freed
// heap stays resident. A value already in the environment wins (operators may tune or unset it).
export const BROKER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
};

/** `env` with BROKER_MALLOC_ENV added where `env` does not set the variable itself. */
export function brokerEnv<E extends NodeJS.ProcessEnv>(env: E): E & typeof BROKER_MALLOC_ENV {
  return { ...BROKER_MALLOC_ENV, ...env };
}
