// The one operating error of the ACL layer: a rules file that cannot be used (the message names
// the field). Refused requests are not errors: they are NO_PERMISSION responses.
import { RmqError } from '../../common/errors.js';
export class AclConfigError extends RmqError<'ERR_BROKER_ACL_CONFIG'> {
  constructor(message: string) {
    super('ERR_BROKER_ACL_CONFIG', message);
  }
}
