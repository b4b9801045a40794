// The one operating error of the ACL layer: a rules file that cannot be used (the message names
// the field). Refused requests are not errors: they are NO_PERMISSION responses.
export class AclConfigError extends Error {
  override readonly name = 'AclConfigError';
  readonly code = 'ERR_BROKER_ACL_CONFIG';
}
