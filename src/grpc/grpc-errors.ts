// Operating errors of the gRPC endpoint (startup only: request failures are answered as v2
// Status codes, never thrown to the client).

export class GrpcEndpointError extends Error {
  constructor(
    readonly code: 'ERR_GRPC_PROTO' | 'ERR_GRPC_LISTEN',
    message: string,
  ) {
    super(message);
    this.name = 'GrpcEndpointError';
  }
}
