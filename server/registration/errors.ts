import { SigilError, Status } from '../../spiffe/errors.js';

export const RegistrationErrorCode = {
  /** An entry (or a patch of one) breaks a rule; the message names the field. */
  invalid: 'SIGIL_REGISTRATION_INVALID',
} as const;

export type RegistrationErrorCode = (typeof RegistrationErrorCode)[keyof typeof RegistrationErrorCode];

/**
 * Messages read `entry: <field>: <rule>`, with the field as the API spells it (snake_case, list
 * fields indexed: `dns_names[1]`), so an operator can find it in a request or a `--data` file.
 */
export class RegistrationError extends SigilError {
  declare readonly code: RegistrationErrorCode;
  /** The field at fault, e.g. `selectors[0]` or `x509_svid_ttl`. */
  readonly field: string;
  /** The message without `entry: <field>: `, for callers that name the field their own way. */
  readonly rule: string;

  constructor(field: string, rule: string) {
    super(RegistrationErrorCode.invalid, `entry: ${field}: ${rule}`, { status: Status.INVALID_ARGUMENT });
    this.field = field;
    this.rule = rule;
  }
}
