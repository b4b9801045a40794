// Operating errors of the gRPC endpoint (startup only: request failures are answered as v2
// Status codes, never thrown to the client).
import { RmqError } from '../common/errors.js';

export class GrpcEndpointError extends RmqError<'ERR_GRPC_PROTO' | 'ERR_GRPC_LISTEN'> {}
