export { X509Svid } from './svid.js';
export { verifyX509Svid, parseAndVerifyX509Svid, type VerifyOptions, type VerifiedX509Svid } from './verify.js';
export { X509SvidError } from './errors.js';
export type { X509SvidSource } from './source.js';
export { MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS } from './path-validation.js';
export {
  assembleCertificate, caTemplate, encodeTbs, issueCertificate, issueCertificateDer, leafTemplate,
  type CaTemplateOptions, type CertificateTemplate, type IssueOptions, type LeafTemplateOptions,
} from './profile.js';
export type { TemplateExtension } from './extensions.js';
export { DEFAULT_CA_SUBJECT, DEFAULT_LEAF_SUBJECT, type SubjectName } from './subject-name.js';
export { BACKDATE_SECONDS, newSerial, validityWindow, type ValidityWindow } from './validity.js';
export {
  algorithmIdentifier, ecdsaP1363ToDer, isDerEcdsaSignature, isEcdsa, keyKind, publicKeyFrom, publicKeyObject,
  signatureAlgorithmFor, softwareSigner, subjectKeyIdentifier,
  type KeyKind, type PublicKeyInput, type SignatureAlgorithm, type Signer, type SubjectPublicKey,
} from './signer.js';
export { X509ProfileError } from './profile-errors.js';
