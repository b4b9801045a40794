// The broker's ACL for the gRPC endpoint: the same accounts, rules (file and replicated) and
// counters as the remoting port, judged on the v5 signature the call carries. A refusal is
// UNAUTHORIZED when the caller is not who it says (no key, unknown key, bad or stale signature)
// and FORBIDDEN when it lacks a permission, with the checker's remark; it is logged at warn with
// the remote address and the method, never with key material but the access key.
import type { Logger } from '../../common/logger.js';
import { GRPC_SIGNATURE_MAX_SKEW_MS, parseDateTime, v5CredentialsOf, v5SignedWith, type AccessNeed, type AccessPerm, type GrpcAccessCheck } from '../../grpc/grpc-access.js';
import type { AclChecker } from './acl-checker.js';
import type { AclNeed } from './acl-resources.js';
import { Perm } from './plain-acl.js';

const PERM_BITS: Record<AccessPerm, number> = { PUB: Perm.PUB, SUB: Perm.SUB, ANY: Perm.ANY };

function aclNeed(n: AccessNeed): AclNeed {
  return { kind: n.kind, name: n.name, perm: PERM_BITS[n.perm] };
}

/** "ipv4:1.2.3.4:5" → "1.2.3.4:5", the form the checker's address patterns read. */
function plainPeer(peer: string): string {
  return peer.replace(/^ipv[46]:/, '');
}

export function grpcAclCheck(acl: AclChecker, log: Logger, nowMs: () => number = Date.now): GrpcAccessCheck {
  return (metadata, peer, method, needs, atMs) => {
    const creds = v5CredentialsOf(metadata);
    const remoteAddress = plainPeer(peer);
    const now = atMs ?? nowMs();
    // A signature made too far from our clock is refused like a wrong one, saying why.
    const at = creds === undefined ? undefined : parseDateTime(creds.dateTime);
    const stale = creds !== undefined && (at === undefined || Math.abs(now - at) > GRPC_SIGNATURE_MAX_SKEW_MS);
    const verdict = acl.judge({
      remoteAddress,
      accessKey: creds?.accessKey,
      signedWith: (secretKey) => creds !== undefined && v5SignedWith(creds, secretKey, now),
      requirement: { admin: false, needs: needs.map(aclNeed) },
      what: stale ? `gRPC ${method} signed at ${creds?.dateTime || '(no x-mq-date-time)'}, too far from the broker's clock (${new Date(now).toISOString()})` : `gRPC ${method}`,
    });
    if (verdict.ok) return undefined;
    log.warn({ remote: remoteAddress, method, remark: verdict.remark }, 'gRPC call refused by ACL');
    const forbidden = verdict.reason === 'no-permission' || verdict.reason === 'not-admin';
    return { code: forbidden ? 'FORBIDDEN' : 'UNAUTHORIZED', message: verdict.remark };
  };
}
