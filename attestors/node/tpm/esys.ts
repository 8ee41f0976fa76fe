/**
 * tpm2-tss through koffi: libtss2-tctildr (the TCTI: `device:/dev/tpmrm0`, `swtpm:host=…,port=…`),
 * libtss2-esys (the commands), libtss2-mu (marshalling) and libtss2-rc (error texts). Every TPM
 * structure crosses as wire bytes: inputs are unmarshalled by Tss2_MU_<T>_Unmarshal into a zeroed
 * buffer, outputs (ESYS allocates them) are marshalled back by Tss2_MU_<T>_Marshal and freed, so no
 * native struct layout appears in JS. The buffer size is only an upper bound on those structs.
 *
 * An ESYS context is not thread-safe and koffi's async calls run on worker threads: an EsysContext
 * is used by one awaited call at a time (tpm.ts awaits each step). The libraries are loaded on
 * first use, so an agent that never attests with a TPM never needs them.
 */
import koffi, { type LibraryHandle } from 'koffi';

export const ESYS_TR = {
  NONE: 0xfff,
  PASSWORD: 0x0ff,
  RH_OWNER: 0x101,
  RH_ENDORSEMENT: 0x10b,
} as const;

/** More than sizeof any TPM structure passed here (the largest, TPM2B_ATTEST, is about 2.3 KB). */
const NATIVE_BYTES = 8192;

const TPM_RC_HANDLE = 0x08b;

/** The TPM answered TPM_RC_INITIALIZE to Startup: it was started already (swtpm's startup-clear). */
const TPM_RC_INITIALIZE = 0x100;

export class TssError extends Error {
  constructor(
    readonly call: string,
    readonly rc: number,
    text: string,
  ) {
    super(`${call} failed: 0x${rc.toString(16)} (${text})`);
    this.name = 'TssError';
  }
}

type Fn = ReturnType<LibraryHandle['func']>;

interface Lib {
  esys: Record<string, Fn>;
  mu: Map<string, { marshal: Fn; unmarshal: Fn }>;
  muLib: LibraryHandle;
  tctiInit: Fn;
  tctiFinalize: Fn;
  decode: Fn;
}

let lib: Lib | undefined;

const ESYS_PROTOTYPES = [
  'uint32_t Esys_Initialize(_Out_ void **ctx, void *tcti, void *abi)',
  'void Esys_Finalize(_Inout_ void **ctx)',
  'void Esys_Free(void *ptr)',
  'uint32_t Esys_Startup(void *ctx, uint16_t su)',
  'uint32_t Esys_FlushContext(void *ctx, uint32_t handle)',
  'uint32_t Esys_TR_Close(void *ctx, _Inout_ uint32_t *handle)',
  'uint32_t Esys_TR_FromTPMPublic(void *ctx, uint32_t tpmHandle, uint32_t s1, uint32_t s2, uint32_t s3, _Out_ uint32_t *object)',
  'uint32_t Esys_NV_ReadPublic(void *ctx, uint32_t nv, uint32_t s1, uint32_t s2, uint32_t s3, _Out_ void **nvPublic, _Out_ void **nvName)',
  'uint32_t Esys_NV_Read(void *ctx, uint32_t auth, uint32_t nv, uint32_t s1, uint32_t s2, uint32_t s3, uint16_t size, uint16_t offset, _Out_ void **data)',
  'uint32_t Esys_CreatePrimary(void *ctx, uint32_t primary, uint32_t s1, uint32_t s2, uint32_t s3, void *sensitive, void *pub, void *outside, void *pcrs, _Out_ uint32_t *object, _Out_ void **outPublic, _Out_ void **cd, _Out_ void **ch, _Out_ void **ct)',
  'uint32_t Esys_Create(void *ctx, uint32_t parent, uint32_t s1, uint32_t s2, uint32_t s3, void *sensitive, void *pub, void *outside, void *pcrs, _Out_ void **outPrivate, _Out_ void **outPublic, _Out_ void **cd, _Out_ void **ch, _Out_ void **ct)',
  'uint32_t Esys_Load(void *ctx, uint32_t parent, uint32_t s1, uint32_t s2, uint32_t s3, void *priv, void *pub, _Out_ uint32_t *object)',
  'uint32_t Esys_StartAuthSession(void *ctx, uint32_t tpmKey, uint32_t bind, uint32_t s1, uint32_t s2, uint32_t s3, void *nonceCaller, uint8_t type, void *symmetric, uint16_t authHash, _Out_ uint32_t *session)',
  'uint32_t Esys_PolicySecret(void *ctx, uint32_t auth, uint32_t session, uint32_t s1, uint32_t s2, uint32_t s3, void *nonceTPM, void *cpHash, void *policyRef, int32_t expiration, _Out_ void **timeout, _Out_ void **ticket)',
  'uint32_t Esys_PolicyOR(void *ctx, uint32_t session, uint32_t s1, uint32_t s2, uint32_t s3, void *hashList)',
  'uint32_t Esys_ActivateCredential(void *ctx, uint32_t activate, uint32_t key, uint32_t s1, uint32_t s2, uint32_t s3, void *blob, void *secret, _Out_ void **certInfo)',
  'uint32_t Esys_Quote(void *ctx, uint32_t sign, uint32_t s1, uint32_t s2, uint32_t s3, void *qualifying, void *scheme, void *pcrs, _Out_ void **quoted, _Out_ void **signature)',
  'uint32_t Esys_PCR_Read(void *ctx, uint32_t s1, uint32_t s2, uint32_t s3, void *pcrs, _Out_ uint32_t *counter, _Out_ void **selOut, _Out_ void **values)',
];

function load(): Lib {
  if (lib !== undefined) return lib;
  // tpm2-tss prints its own WARNING/ERROR lines on stderr for every failed command (a missing NV
  // index included); sigil reports failures itself, so the library stays quiet unless asked.
  process.env['TSS2_LOG'] ??= 'all+none';
  const tctildr = koffi.load('libtss2-tctildr.so.0');
  const esysLib = koffi.load('libtss2-esys.so.0');
  const muLib = koffi.load('libtss2-mu.so.0');
  const rc = koffi.load('libtss2-rc.so.0');
  const esys: Record<string, Fn> = {};
  for (const proto of ESYS_PROTOTYPES) {
    const f = esysLib.func(proto);
    esys[f.info.name] = f;
  }
  lib = {
    esys,
    mu: new Map(),
    muLib,
    tctiInit: tctildr.func('uint32_t Tss2_TctiLdr_Initialize(const char *conf, _Out_ void **tcti)'),
    tctiFinalize: tctildr.func('void Tss2_TctiLdr_Finalize(_Inout_ void **tcti)'),
    decode: rc.func('const char *Tss2_RC_Decode(uint32_t rc)'),
  };
  return lib;
}

function mu(type: string): { marshal: Fn; unmarshal: Fn } {
  const l = load();
  let f = l.mu.get(type);
  if (f === undefined) {
    f = {
      marshal: l.muLib.func(`uint32_t Tss2_MU_${type}_Marshal(void *src, _Out_ uint8_t *buf, size_t size, _Inout_ size_t *offset)`),
      unmarshal: l.muLib.func(`uint32_t Tss2_MU_${type}_Unmarshal(const uint8_t *buf, size_t size, _Inout_ size_t *offset, void *dest)`),
    };
    l.mu.set(type, f);
  }
  return f;
}

function check(call: string, rc: number): void {
  if (rc !== 0) throw new TssError(call, rc, String(load().decode(rc)));
}

/** Wire bytes → the native struct `type` (e.g. "TPM2B_PUBLIC"), in a buffer ESYS reads. */
export function toNative(type: string, wire: Uint8Array): Buffer {
  const dest = Buffer.alloc(NATIVE_BYTES);
  const offset = [0];
  check(`Tss2_MU_${type}_Unmarshal`, mu(type).unmarshal(Buffer.from(wire), wire.length, offset, dest) as number);
  if (offset[0] !== wire.length) throw new TssError(`Tss2_MU_${type}_Unmarshal`, 0, `read ${offset[0]} of ${wire.length} bytes`);
  return dest;
}

/** An ESYS-allocated struct → wire bytes; frees it. */
function fromNative(type: string, ptr: unknown): Buffer {
  const out = Buffer.alloc(NATIVE_BYTES);
  const offset = [0];
  try {
    check(`Tss2_MU_${type}_Marshal`, mu(type).marshal(ptr, out, out.length, offset) as number);
  } finally {
    load().esys['Esys_Free']!(ptr);
  }
  return out.subarray(0, offset[0]);
}

/** One connection to a TPM; close() it (in finally). */
export class EsysContext {
  #ctx: unknown;
  #tcti: unknown;

  private constructor(ctx: unknown, tcti: unknown) {
    this.#ctx = ctx;
    this.#tcti = tcti;
  }

  static async open(tctiConf: string): Promise<EsysContext> {
    const l = load();
    const tcti: unknown[] = [null];
    check(`Tss2_TctiLdr_Initialize(${JSON.stringify(tctiConf)})`, l.tctiInit(tctiConf, tcti) as number);
    const ctx: unknown[] = [null];
    const rc = l.esys['Esys_Initialize']!(ctx, tcti[0], null) as number;
    if (rc !== 0) {
      l.tctiFinalize(tcti);
      check('Esys_Initialize', rc);
    }
    const esys = new EsysContext(ctx[0], tcti[0]);
    try {
      const started = await esys.#call('Esys_Startup', 0x0000);
      if (started !== 0 && started !== TPM_RC_INITIALIZE) check('Esys_Startup', started);
    } catch (err) {
      esys.close();
      throw err;
    }
    return esys;
  }

  close(): void {
    const l = load();
    if (this.#ctx !== null) l.esys['Esys_Finalize']!([this.#ctx]);
    if (this.#tcti !== null) l.tctiFinalize([this.#tcti]);
    this.#ctx = null;
    this.#tcti = null;
  }

  /** Calls an ESYS function on a worker thread (a TPM command can take seconds on a chip). */
  #call(name: string, ...args: unknown[]): Promise<number> {
    const f = load().esys[name]!;
    return new Promise((resolve, reject) => {
      f.async(this.#ctx, ...args, (err: unknown, rc: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(rc)));
    });
  }

  async #run(name: string, ...args: unknown[]): Promise<void> {
    check(name, await this.#call(name, ...args));
  }

  async flush(handle: number): Promise<void> {
    await this.#run('Esys_FlushContext', handle);
  }

  /** The NV index's contents, or undefined when the index is not defined. */
  async nvRead(index: number): Promise<Buffer | undefined> {
    const tr = [0];
    const rc = await this.#call('Esys_TR_FromTPMPublic', index, ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, tr);
    // TPM_RC_HANDLE (format 1, any parameter/handle number): no such index. Anything else is a real failure.
    if ((rc & 0xbf) === TPM_RC_HANDLE) return undefined;
    check('Esys_TR_FromTPMPublic', rc);
    try {
      const pub: unknown[] = [null];
      await this.#run('Esys_NV_ReadPublic', tr[0], ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, pub, null);
      const nvPublic = fromNative('TPM2B_NV_PUBLIC', pub[0]);
      // TPM2B_NV_PUBLIC: size u16, nvIndex u32, nameAlg u16, attributes u32, authPolicy TPM2B, dataSize u16.
      const policyLen = nvPublic.readUInt16BE(12);
      const size = nvPublic.readUInt16BE(14 + policyLen);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < size; ) {
        const data: unknown[] = [null];
        await this.#run('Esys_NV_Read', ESYS_TR.RH_OWNER, tr[0], ESYS_TR.PASSWORD, ESYS_TR.NONE, ESYS_TR.NONE, Math.min(1024, size - offset), offset, data);
        const chunk = fromNative('TPM2B_MAX_NV_BUFFER', data[0]).subarray(2);
        if (chunk.length === 0) break;
        chunks.push(chunk);
        offset += chunk.length;
      }
      return Buffer.concat(chunks);
    } finally {
      await this.#run('Esys_TR_Close', tr);
    }
  }

  /** CreatePrimary under `hierarchy`; returns the handle and the TPMT_PUBLIC. */
  async createPrimary(hierarchy: number, template: Uint8Array): Promise<{ handle: number; publicArea: Buffer }> {
    const handle = [0];
    const pub: unknown[] = [null];
    await this.#run(
      'Esys_CreatePrimary', hierarchy, ESYS_TR.PASSWORD, ESYS_TR.NONE, ESYS_TR.NONE,
      toNative('TPM2B_SENSITIVE_CREATE', EMPTY_SENSITIVE), toNative('TPM2B_PUBLIC', sized(template)),
      toNative('TPM2B_DATA', sized(new Uint8Array(0))), toNative('TPML_PCR_SELECTION', NO_PCRS), handle, pub, null, null, null,
    );
    return { handle: handle[0]!, publicArea: fromNative('TPM2B_PUBLIC', pub[0]).subarray(2) };
  }

  /** Create under `parent` (authorized by `session`); returns the TPM2B_PRIVATE and TPM2B_PUBLIC wire blobs. */
  async create(parent: number, session: number, template: Uint8Array): Promise<{ privateBlob: Buffer; publicBlob: Buffer }> {
    const priv: unknown[] = [null];
    const pub: unknown[] = [null];
    await this.#run(
      'Esys_Create', parent, session, ESYS_TR.NONE, ESYS_TR.NONE,
      toNative('TPM2B_SENSITIVE_CREATE', EMPTY_SENSITIVE), toNative('TPM2B_PUBLIC', sized(template)),
      toNative('TPM2B_DATA', sized(new Uint8Array(0))), toNative('TPML_PCR_SELECTION', NO_PCRS), priv, pub, null, null, null,
    );
    return { privateBlob: fromNative('TPM2B_PRIVATE', priv[0]), publicBlob: fromNative('TPM2B_PUBLIC', pub[0]) };
  }

  async load(parent: number, session: number, privateBlob: Uint8Array, publicBlob: Uint8Array): Promise<number> {
    const handle = [0];
    await this.#run(
      'Esys_Load', parent, session, ESYS_TR.NONE, ESYS_TR.NONE, toNative('TPM2B_PRIVATE', privateBlob), toNative('TPM2B_PUBLIC', publicBlob), handle,
    );
    return handle[0]!;
  }

  /** An unsalted, unbound policy session hashing with `authHash` (a TPM_ALG id). */
  async startPolicySession(authHash: number): Promise<number> {
    const handle = [0];
    const TPM2_SE_POLICY = 0x01;
    await this.#run('Esys_StartAuthSession', ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, null, TPM2_SE_POLICY, toNative('TPMT_SYM_DEF', SYM_NULL), authHash, handle);
    return handle[0]!;
  }

  async policySecret(authHandle: number, session: number): Promise<void> {
    await this.#run('Esys_PolicySecret', authHandle, session, ESYS_TR.PASSWORD, ESYS_TR.NONE, ESYS_TR.NONE, null, null, null, 0, null, null);
  }

  /** PolicyOR over `digests` (TPML_DIGEST). */
  async policyOr(session: number, digests: readonly Uint8Array[]): Promise<void> {
    const list = Buffer.concat([u32(digests.length), ...digests.map(sized)]);
    await this.#run('Esys_PolicyOR', session, ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, toNative('TPML_DIGEST', list));
  }

  /** The credential's contents (TPM2B_DIGEST payload). */
  async activateCredential(activate: number, key: number, keySession: number, blob: Uint8Array, secret: Uint8Array): Promise<Buffer> {
    const info: unknown[] = [null];
    await this.#run(
      'Esys_ActivateCredential', activate, key, ESYS_TR.PASSWORD, keySession, ESYS_TR.NONE,
      toNative('TPM2B_ID_OBJECT', blob), toNative('TPM2B_ENCRYPTED_SECRET', secret), info,
    );
    return fromNative('TPM2B_DIGEST', info[0]).subarray(2);
  }

  /** A quote by `signer` over `pcrSelection` (TPML_PCR_SELECTION wire) and `nonce`: TPMS_ATTEST and TPMT_SIGNATURE bytes. */
  async quote(signer: number, nonce: Uint8Array, pcrSelection: Uint8Array): Promise<{ quoted: Buffer; signature: Buffer }> {
    const quoted: unknown[] = [null];
    const signature: unknown[] = [null];
    const TPM_ALG_NULL_SCHEME = Buffer.of(0x00, 0x10);
    await this.#run(
      'Esys_Quote', signer, ESYS_TR.PASSWORD, ESYS_TR.NONE, ESYS_TR.NONE,
      toNative('TPM2B_DATA', sized(nonce)), toNative('TPMT_SIG_SCHEME', TPM_ALG_NULL_SCHEME), toNative('TPML_PCR_SELECTION', pcrSelection), quoted, signature,
    );
    return { quoted: fromNative('TPM2B_ATTEST', quoted[0]).subarray(2), signature: fromNative('TPMT_SIGNATURE', signature[0]) };
  }

  /** PCR_Read of `pcrSelection` (at most 8 PCRs: one TPML_DIGEST); returns the TPML_PCR_SELECTION read and the digests. */
  async pcrRead(pcrSelection: Uint8Array): Promise<{ selection: Buffer; digests: Buffer[] }> {
    const counter = [0];
    const sel: unknown[] = [null];
    const values: unknown[] = [null];
    await this.#run('Esys_PCR_Read', ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE, toNative('TPML_PCR_SELECTION', pcrSelection), counter, sel, values);
    const selection = fromNative('TPML_PCR_SELECTION', sel[0]);
    const list = fromNative('TPML_DIGEST', values[0]);
    const digests: Buffer[] = [];
    for (let off = 4, n = 0; n < list.readUInt32BE(0); n++) {
      const len = list.readUInt16BE(off);
      digests.push(list.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    return { selection, digests };
  }
}

/** TPM2B_SENSITIVE_CREATE with empty userAuth and data: size 4, then two empty TPM2Bs. */
const EMPTY_SENSITIVE = Buffer.of(0, 4, 0, 0, 0, 0);
/** TPMT_SYM_DEF with TPM_ALG_NULL: no parameter encryption (ESYS wants the struct, not NULL). */
const SYM_NULL = Buffer.of(0x00, 0x10);
/** TPML_PCR_SELECTION with no banks. */
const NO_PCRS = Buffer.of(0, 0, 0, 0);

function sized(b: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
