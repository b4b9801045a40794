// The RocketMQ 5 protocol definitions (apache.rocketmq.v2), loaded at run time from the .proto
// files that Apache's Node client package ships: the repository holds no copy, so the wire
// format always matches the client release installed beside us. Objects use proto-loader's
// conventions: camelCase fields, enums as their names, int64 as numbers, oneofs named.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GrpcEndpointError } from './grpc-errors.js';

const PROTO_PACKAGE = 'rocketmq-client-nodejs';
const SERVICE_PROTO = 'apache/rocketmq/v2/service.proto';

/** The folder holding apache/rocketmq/v2/*.proto inside the installed client package. */
export function protoRoot(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve(`${PROTO_PACKAGE}/package.json`)), 'proto');
  } catch (err) {
    throw new GrpcEndpointError('ERR_GRPC_PROTO', `the gRPC endpoint needs the .proto files of the npm package ${PROTO_PACKAGE}, which is not installed (${(err as Error).message}); install it or set grpcListenPort=0`);
  }
}

let cached: grpc.ServiceDefinition | undefined;

/** apache.rocketmq.v2.MessagingService, loaded once per process. */
export function messagingServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  let def: protoLoader.PackageDefinition;
  try {
    def = protoLoader.loadSync(SERVICE_PROTO, { includeDirs: [protoRoot()], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
  } catch (err) {
    if (err instanceof GrpcEndpointError) throw err;
    throw new GrpcEndpointError('ERR_GRPC_PROTO', `cannot load ${SERVICE_PROTO} from ${PROTO_PACKAGE}: ${(err as Error).message}`);
  }
  const svc = def['apache.rocketmq.v2.MessagingService'];
  if (svc === undefined || !('QueryRoute' in svc)) throw new GrpcEndpointError('ERR_GRPC_PROTO', `${SERVICE_PROTO} does not define apache.rocketmq.v2.MessagingService`);
  cached = svc as grpc.ServiceDefinition;
  return cached;
}

// The shapes below are the subset of the v2 messages this endpoint reads or writes.

export interface Resource { resourceNamespace?: string; name: string }
export interface Duration { seconds: number; nanos: number }
export interface Timestamp { seconds: number; nanos: number }
export interface Address { host: string; port: number }
export interface Endpoints { scheme: string; addresses: Address[] }
export interface Status { code: string; message: string }

export interface SystemProperties {
  tag?: string;
  keys: string[];
  messageId: string;
  bodyDigest?: { type: string; checksum: string };
  bodyEncoding: string;
  messageType: string;
  bornTimestamp?: Timestamp;
  bornHost: string;
  storeTimestamp?: Timestamp;
  storeHost: string;
  deliveryTimestamp?: Timestamp;
  receiptHandle?: string;
  queueId: number;
  queueOffset?: number;
  invisibleDuration?: Duration;
  deliveryAttempt?: number;
  messageGroup?: string;
}

export interface Message {
  topic: Resource;
  userProperties: Record<string, string>;
  systemProperties: SystemProperties;
  body: Buffer;
}

export function durationMs(d: Duration | null | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds) * 1000 + Math.floor(Number(d.nanos) / 1e6);
}

export function toDuration(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function timestampMs(t: Timestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  return Number(t.seconds) * 1000 + Math.floor(Number(t.nanos) / 1e6);
}

export function toTimestamp(ms: number): Timestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function ok(message = 'OK'): Status {
  return { code: 'OK', message };
}

export function status(code: string, message: string): Status {
  return { code, message };
}
