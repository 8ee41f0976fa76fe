/**
 * GET /pods from the kubelet: over TLS on the secure port with a bearer token or a client
 * certificate (the kubelet's serving certificate checked against the configured CA), or plain
 * HTTP on the read-only port. Token, CA and client key pair are read again when their files
 * change, so rotation needs no restart. The body is capped and parsed straight into a PodIndex;
 * the raw JSON is garbage once this returns.
 */
import http from 'node:http';
import https from 'node:https';
import { messageOf } from '../../../spiffe/errors.js';
import { K8S } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';
import { KUBELET_TIMEOUT_MS, MAX_POD_LIST_BYTES, type ResolvedK8sConfig } from './config.js';
import { parsePodList, type PodIndex } from './pod-list.js';
import { WatchedFile } from './watched-file.js';

/** The defaults are the agent's; tests lower them to reach the limits quickly. */
export interface KubeletLimits {
  /** The whole exchange, connect to last byte (ms). */
  timeoutMs?: number;
  /** The largest body buffered. */
  maxBytes?: number;
}

export class KubeletClient {
  readonly #url: URL;
  readonly #source: string;
  readonly #skipVerification: boolean;
  readonly #ca: WatchedFile | undefined;
  readonly #token: WatchedFile | undefined;
  readonly #cert: WatchedFile | undefined;
  readonly #key: WatchedFile | undefined;
  readonly #authHint: string;
  #agent: http.Agent | undefined;
  #agentStamp = '';

  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(config: ResolvedK8sConfig, limits: KubeletLimits = {}) {
    this.#timeoutMs = limits.timeoutMs ?? KUBELET_TIMEOUT_MS;
    this.#maxBytes = limits.maxBytes ?? MAX_POD_LIST_BYTES;
    this.#url = new URL('/pods', config.url);
    this.#source = `the kubelet at ${this.#url.href}`;
    this.#skipVerification = config.skipVerification;
    this.#ca = config.caFile === undefined ? undefined : new WatchedFile(config.caFile, 'the kubelet CA file (kubeletCa, --kubelet-ca)');
    const auth = config.auth;
    if (auth.kind === 'token') {
      this.#token = new WatchedFile(auth.tokenFile, 'the kubelet token file (kubeletTokenFile, --kubelet-token-file)');
      this.#authHint = `check the token in ${auth.tokenFile} (kubeletTokenFile) and that the kubelet runs with --authentication-token-webhook`;
    } else if (auth.kind === 'client-cert') {
      this.#cert = new WatchedFile(auth.certFile, 'the kubelet client certificate (kubeletClientCert, --kubelet-client-cert)');
      this.#key = new WatchedFile(auth.keyFile, 'the kubelet client key (kubeletClientKey, --kubelet-client-key)');
      this.#authHint = `check that the kubelet's client CA signed ${auth.certFile} (kubeletClientCert)`;
    } else {
      this.#authHint = 'the read-only port should need no credentials: check kubeletUrl';
    }
  }

  async fetchPods(): Promise<PodIndex> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#bearer(this.#token)}`;
    const body = await this.#get(headers);
    return parsePodList(body, this.#source);
  }

  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  /** One keep-alive pool per generation of TLS material: a rotated CA or key pair gets new connections. */
  #poolFor(): http.Agent {
    if (this.#url.protocol === 'http:') {
      this.#agent ??= new http.Agent({ keepAlive: true, maxSockets: 4 });
      return this.#agent;
    }
    const ca = this.#ca?.read();
    const cert = this.#cert?.read();
    const key = this.#key?.read();
    const stamp = `${this.#ca?.version}:${this.#cert?.version}:${this.#key?.version}`;
    if (this.#agent === undefined || stamp !== this.#agentStamp) {
      this.#agent?.destroy();
      this.#agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca, cert, key, rejectUnauthorized: !this.#skipVerification });
      this.#agentStamp = stamp;
    }
    return this.#agent;
  }

  /** The token as a header value; a file caught mid-rotation (empty) or holding junk is named. */
  #bearer(file: WatchedFile): string {
    const token = file.read().toString('utf8').trim();
    if (token === '' || !/^[\x21-\x7e]+$/.test(token)) {
      throw new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `${file.what} ${file.path} ${token === '' ? 'is empty' : 'holds characters a bearer token cannot have'}`);
    }
    return token;
  }

  #get(headers: Record<string, string>): Promise<string> {
    const agent = this.#poolFor();
    const lib = this.#url.protocol === 'http:' ? http : https;
    const ms = this.#timeoutMs;
    return new Promise((resolve, reject) => {
      // Every caller waiting for a pod list waits on this one request, so it settles exactly once
      // and within the deadline, whatever the kubelet does.
      let settled = false;
      let deadline: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        outcome();
      };
      const fail = (message: string, cause?: unknown): void =>
        settle(() => reject(new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `${this.#source}: ${message}`, { cause })));
      let req: http.ClientRequest;
      try {
        req = lib.get(this.#url, { agent, headers, timeout: ms }, (res) => {
          const code = res.statusCode ?? 0;
          res.on('error', (err) => fail(`reading the answer failed: ${messageOf(err)}`, err));
          if (code !== 200) {
            // Not drained for reuse: an error body could be endless, and nothing bounds it once settled.
            req.destroy();
            if (code === 401) fail(`401 Unauthorized: the kubelet did not accept the agent's credentials; ${this.#authHint}`);
            else if (code === 403) fail(`403 Forbidden: the agent's identity may not read pods (RBAC: nodes/proxy get, or nodes/pods on newer kubelets)`);
            else fail(`answered ${code} ${res.statusMessage ?? ''}`.trim());
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.#maxBytes) {
              fail(`the pod list is over ${this.#maxBytes} bytes; refusing to buffer it`);
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => settle(() => resolve(Buffer.concat(chunks, size).toString('utf8'))));
        });
      } catch (err) {
        // Node refuses a request it cannot send (a header value it rejects) by throwing here.
        fail(`cannot send the request: ${messageOf(err)}`, err);
        return;
      }
      // The socket's `timeout` notices only silence; a kubelet trickling bytes would otherwise hold
      // the request, and every caller sharing it, for as long as it liked.
      deadline = setTimeout(() => {
        fail(`no complete answer within ${ms} ms`);
        req.destroy();
      }, ms);
      req.on('timeout', () => {
        fail(`no answer within ${ms} ms`);
        req.destroy();
      });
      req.on('error', (err) => fail(tlsHint(err, this.#skipVerification), err));
    });
  }
}

/** Certificate failures say which setting decides them. */
function tlsHint(err: unknown, skip: boolean): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const msg = messageOf(err);
  if (!skip && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return `its serving certificate did not verify (${msg}): set kubeletCa (--kubelet-ca) to the CA that signed it, or skipKubeletVerification for self-signed kubelet certificates`;
  }
  return `request failed: ${msg}`;
}
