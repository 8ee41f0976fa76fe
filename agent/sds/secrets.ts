/**
 * Secrets as SPIRE builds them: an SVID is a tls_certificate with the PEM chain (leaf first) and the
 * PKCS#8 PEM key; a bundle is a validation_context holding either Envoy's SPIFFE certificate
 * validator (one trust domain entry per bundle, names without `spiffe://`, sorted) or, when the
 * validator is off, the bundle's CA certificates as plain trusted_ca. ALL cannot be plain trusted_ca:
 * one pool of every trust domain's CAs would let any of them vouch for any SPIFFE ID.
 *
 * A secret's version is a hash of its content: equal content, equal version, on every stream and
 * across agent restarts, which is what Delta's initial_resource_versions compares against.
 */
import { status } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { parseDerCertificates } from '../../spiffe/bundle/certificates.js';
import { encodePem } from '../../spiffe/internal/pem.js';
import type { BundleView, IdentitySnapshot } from '../cache/workload-view.js';
import { RpcError } from '../workloadapi/status.js';
import { SECRET_TYPE_URL, SPIFFE_VALIDATOR_NAME, SPIFFE_VALIDATOR_TYPE_URL, type SecretMsg, type ValidationContextMsg } from './messages.js';
import { resolveName, type SecretSource } from './names.js';
import type { SdsSettings } from './settings.js';

/**
 * PEM forms of DER data, by the DER Buffer. The cache keeps an identity's or bundle's Buffers for as
 * long as it is current and every snapshot of every caller shares them, so each is parsed and
 * encoded once, not again on every stream at every push.
 */
const certificatesPem = new WeakMap<Buffer, Buffer>();
const keysPem = new WeakMap<Buffer, Buffer>();

function memo(cache: WeakMap<Buffer, Buffer>, der: Buffer, convert: (der: Buffer) => Buffer): Buffer {
  let pem = cache.get(der);
  if (pem === undefined) {
    pem = convert(der);
    cache.set(der, pem);
  }
  return pem;
}

function pemCertificates(der: Buffer): Buffer {
  return memo(certificatesPem, der, (d) => Buffer.from(parseDerCertificates(d).map((c) => encodePem('CERTIFICATE', c.raw)).join('')));
}

function pemPrivateKey(der: Buffer): Buffer {
  return memo(keysPem, der, (d) => Buffer.from(encodePem('PRIVATE KEY', d)));
}

function validationContext(bundles: readonly BundleView[], spiffeValidator: boolean): ValidationContextMsg {
  if (!spiffeValidator) return { trusted_ca: { inline_bytes: pemCertificates(bundles[0]!.x509Der) } };
  const sorted = [...bundles].sort((a, b) => (a.trustDomain < b.trustDomain ? -1 : a.trustDomain > b.trustDomain ? 1 : 0));
  return {
    custom_validator_config: {
      name: SPIFFE_VALIDATOR_NAME,
      typed_config: {
        '@type': SPIFFE_VALIDATOR_TYPE_URL,
        trust_domains: sorted.map((b) => ({ name: b.trustDomain, trust_bundle: { inline_bytes: pemCertificates(b.x509Der) } })),
      },
    },
  };
}

export function allNeedsValidator(name: string): RpcError {
  return new RpcError(
    status.INTERNAL,
    `unable to use "SPIFFE validator" on Envoy below 1.18: ${JSON.stringify(name)} holds several trust domains and needs it ` +
      '(upgrade Envoy, or leave disableSpiffeCertValidation off for this Envoy, or ask for one trust domain ID)',
  );
}

export function buildSecret(name: string, source: SecretSource, spiffeValidator: boolean): SecretMsg {
  if (source.kind === 'certificate') {
    return {
      '@type': SECRET_TYPE_URL,
      name,
      tls_certificate: {
        certificate_chain: { inline_bytes: pemCertificates(source.identity.certChainDer) },
        private_key: { inline_bytes: pemPrivateKey(source.identity.privateKeyDer) },
      },
    };
  }
  if (source.all && !spiffeValidator) throw allNeedsValidator(name);
  return { '@type': SECRET_TYPE_URL, name, validation_context: validationContext(source.bundles, spiffeValidator) };
}

/** 16 hex digits of SHA-256 over the secret's fields. */
export function secretVersion(secret: SecretMsg): string {
  const text = JSON.stringify(secret, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('base64') : value;
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export interface VersionedSecret {
  name: string;
  secret: SecretMsg;
  version: string;
}

/** The secrets the caller holds among `names`, in the order asked, and the names it holds nothing by. */
export function secretsFor(
  names: readonly string[],
  snap: IdentitySnapshot,
  settings: SdsSettings,
  spiffeValidator: boolean,
): { found: VersionedSecret[]; missing: string[] } {
  const found: VersionedSecret[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const source = resolveName(name, snap, settings);
    if (source === undefined) {
      missing.push(name);
      continue;
    }
    const secret = buildSecret(name, source, spiffeValidator);
    found.push({ name, secret, version: secretVersion(secret) });
  }
  return { found, missing };
}
