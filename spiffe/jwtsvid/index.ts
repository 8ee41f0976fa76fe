export { JwtSvid, type JwtSvidInit } from './svid.js';
export { parseInsecure, parseAndValidate, LEEWAY_SECONDS, type ValidateOptions } from './validate.js';
export { signJwtSvid, type JwtSigner, type JwtSvidParams, type JsonValue } from './sign.js';
export { JWT_ALGORITHMS, MIN_RSA_BITS, isJwtAlgorithm, defaultAlgorithm, type JwtAlgorithm } from './algorithms.js';
export { JwtSvidError, JwtSvidRule } from './errors.js';
