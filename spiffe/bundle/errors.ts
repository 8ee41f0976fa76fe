import { SigilError, Status, type StatusCode } from '../errors.js';

/**
 * The go-spiffe package each message is prefixed with. Operators and tests compare our messages with
 * go-spiffe's byte for byte (`jwtbundle: error adding authority 1 of JWKS: keyID cannot be empty`),
 * so the prefix names the bundle kind the failing call was about, not our file.
 */
export type BundleModule = 'x509bundle' | 'jwtbundle' | 'spiffebundle' | 'witbundle';

export const BundleErrorCode = {
  /** The input is not a valid bundle, or an authority cannot be part of one. */
  invalid: 'SIGIL_BUNDLE_INVALID',
  /** A source has no bundle for the trust domain asked about. */
  notFound: 'SIGIL_BUNDLE_NOT_FOUND',
} as const;

export type BundleErrorCode = (typeof BundleErrorCode)[keyof typeof BundleErrorCode];

export class BundleError extends SigilError {
  readonly module: BundleModule;
  /** The message without its module prefix, for wrappers that nest it as go-spiffe's errors.Unwrap does. */
  readonly detail: string;

  constructor(module: BundleModule, detail: string, options: { code?: BundleErrorCode; cause?: unknown } = {}) {
    const code = options.code ?? BundleErrorCode.invalid;
    const status: StatusCode = code === BundleErrorCode.notFound ? Status.NOT_FOUND : Status.INVALID_ARGUMENT;
    super(code, `${module}: ${detail}`, { status, cause: options.cause });
    this.module = module;
    this.detail = detail;
  }
}

export function invalidBundle(module: BundleModule, detail: string, cause?: unknown): BundleError {
  return new BundleError(module, detail, { cause });
}

export function bundleNotFound(module: BundleModule, detail: string): BundleError {
  return new BundleError(module, detail, { code: BundleErrorCode.notFound });
}
