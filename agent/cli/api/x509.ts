/**
 * `sigil agent api fetch x509` and `sigil agent api watch`: the caller's X509-SVIDs, checked as a
 * go-spiffe workload checks them (x509svid.ParseRaw, bundle DER parsing), printed as spire-agent
 * prints them, and with --write saved as spire-agent -write saves them.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Command } from 'commander';
import { X509Bundle } from '../../../spiffe/bundle/index.js';
import { messageOf } from '../../../spiffe/errors.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { X509Svid } from '../../../spiffe/x509svid/index.js';
import type { X509SvidResponseMsg } from '../../workloadapi/messages.js';
import { socketPathOption, timeoutMs, timeoutOption, WorkloadClient, type EndpointOptions } from './client.js';
import { action, CliError, elapsed, labelled, outputOption, plural, write, writeJson, type OutputFormat } from './output.js';

interface ParsedSvid {
  svid: X509Svid;
  bundle: X509Bundle;
}

interface Parsed {
  svids: ParsedSvid[];
  federated: X509Bundle[];
}

/** The response as a go-spiffe client would accept it, or why it would not. */
function parse(res: X509SvidResponseMsg): Parsed {
  if (res.svids.length === 0) throw new CliError('the agent sent a response with no SVIDs');
  try {
    const svids = res.svids.map((s) => {
      const svid = X509Svid.parseRaw(s.x509_svid, s.x509_svid_key);
      const withHint = s.hint !== '' ? new X509Svid(svid.id, svid.certificates, svid.privateKey, s.hint) : svid;
      return { svid: withHint, bundle: X509Bundle.parseRaw(SpiffeId.fromString(s.spiffe_id).trustDomain, s.bundle) };
    });
    const federated = Object.entries(res.federated_bundles)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([td, der]) => X509Bundle.parseRaw(TrustDomain.fromString(td), der));
    return { svids, federated };
  } catch (err) {
    throw new CliError(`the agent sent an SVID that does not parse: ${messageOf(err)}`);
  }
}

function printText(p: Parsed, ms: number): void {
  const lines = [`Received ${plural(p.svids.length, 'svid', 'svids')} after ${elapsed(ms)}`];
  for (const { svid, bundle } of p.svids) {
    const leaf = svid.certificates[0];
    const rows: [string, string][] = [['SPIFFE ID', svid.id.toString()]];
    if (svid.hint !== undefined) rows.push(['Hint', svid.hint]);
    if (leaf !== undefined) rows.push(['SVID Valid After', leaf.validFrom], ['SVID Valid Until', leaf.validTo]);
    for (const [n, intermediate] of svid.certificates.slice(1).entries()) {
      rows.push([`Intermediate #${n + 1} Valid After`, intermediate.validFrom], [`Intermediate #${n + 1} Valid Until`, intermediate.validTo]);
    }
    for (const [n, ca] of bundle.x509Authorities().entries()) {
      rows.push([`CA #${n + 1} Valid After`, ca.validFrom], [`CA #${n + 1} Valid Until`, ca.validTo]);
    }
    lines.push('', labelled(rows));
  }
  for (const b of p.federated) lines.push('', labelled([['Federated bundle', `${b.trustDomain.idString()} (${plural(b.x509Authorities().length, 'CA', 'CAs')})`]]));
  write(lines.join('\n') + '\n');
}

function toJson(p: Parsed): object {
  return {
    svids: p.svids.map(({ svid, bundle }) => {
      const pem = svid.marshal();
      return {
        spiffe_id: svid.id.toString(),
        hint: svid.hint ?? '',
        x509_svid: pem.certificates,
        x509_svid_key: pem.privateKey,
        bundle: bundle.marshal(),
        expires_at: svid.certificates[0] === undefined ? undefined : new Date(svid.certificates[0].validTo).toISOString(),
      };
    }),
    federated_bundles: Object.fromEntries(p.federated.map((b) => [b.trustDomain.idString(), b.marshal()])),
  };
}

/** svid.N.pem (chain), svid.N.key (0600), bundle.N.pem, federated_bundle.N.M.pem, as spire-agent writes them. */
function writeFiles(dir: string, p: Parsed, quiet: boolean): void {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const put = (what: string, file: string, data: string, mode: number): void => {
    const path = join(abs, file);
    if (!quiet) write(`Writing ${what} to file ${path}.`);
    writeFileSync(path, data, { mode });
    chmodSync(path, mode); // an existing file keeps its old mode otherwise
  };
  for (const [n, { svid, bundle }] of p.svids.entries()) {
    const pem = svid.marshal();
    put(`SVID #${n}`, `svid.${n}.pem`, pem.certificates, 0o644);
    put(`key #${n}`, `svid.${n}.key`, pem.privateKey, 0o600);
    put(`bundle #${n}`, `bundle.${n}.pem`, bundle.marshal(), 0o644);
    for (const [m, fb] of p.federated.entries()) put(`federated bundle #${n}.${m}`, `federated_bundle.${n}.${m}.pem`, fb.marshal(), 0o644);
  }
}

interface FetchOptions extends EndpointOptions {
  write?: string;
  silent?: boolean;
  output: OutputFormat;
}

export function fetchX509Command(): Command {
  return new Command('x509')
    .description("fetch this process's X509-SVIDs and bundles from the agent (the default of `api fetch`)")
    .addOption(socketPathOption())
    .addOption(timeoutOption('5'))
    .option('--write <dir>', 'write svid.N.pem, svid.N.key and bundle.N.pem for each SVID into this directory')
    .option('--silent', 'print nothing but errors')
    .addOption(outputOption())
    .action(
      action(async (o: FetchOptions) => {
        const client = new WorkloadClient(o);
        try {
          const t0 = performance.now();
          const res = await client.fetchX509Svid(timeoutMs(o));
          const ms = performance.now() - t0;
          const parsed = parse(res);
          if (o.write !== undefined) writeFiles(o.write, parsed, o.silent === true || o.output === 'json');
          if (o.silent === true) return;
          if (o.output === 'json') writeJson(toJson(parsed));
          else printText(parsed, ms);
        } finally {
          client.close();
        }
      }),
    );
}

/** Retries grow by a second up to this, and start over after each message (as go-spiffe's watcher does). */
const MAX_BACKOFF_MS = 5000;

export function watchCommand(): Command {
  return new Command('watch')
    .description('print this process\'s X509-SVIDs every time the agent pushes a change, until interrupted')
    .addOption(socketPathOption())
    .addOption(outputOption())
    .action(
      action(async (o: { socketPath?: string; output: OutputFormat }) => {
        const client = new WorkloadClient(o);
        try {
          await watch(client, o.output);
        } finally {
          client.close();
        }
      }),
    );
}

/** Resolves on SIGINT/SIGTERM; rejects on an error no retry can fix. */
function watch(client: WorkloadClient, output: OutputFormat): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let stopped = false;
    let call: ReturnType<WorkloadClient['watchX509Svid']> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let backoff = 0;
    const finish = (err?: Error): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      call?.cancel();
      if (err === undefined) resolvePromise();
      else reject(err);
    };
    const onSignal = (): void => finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const connect = (): void => {
      if (stopped) return;
      let t0 = performance.now();
      const c = client.watchX509Svid();
      call = c;
      c.on('data', (res: X509SvidResponseMsg) => {
        backoff = 0;
        try {
          const parsed = parse(res);
          if (output === 'json') writeJson({ received_after_ms: performance.now() - t0, ...toJson(parsed) }, { compact: true });
          else printText(parsed, performance.now() - t0);
        } catch (err) {
          process.stderr.write(`Error: ${messageOf(err)}\n`);
        }
        t0 = performance.now();
      });
      // Every outcome arrives as the final status; 'error' repeats the failures and needs a
      // listener so that it is not thrown.
      c.on('error', () => undefined);
      c.on('status', (s: { code: status; details: string }) => {
        if (stopped) return;
        if (s.code === status.INVALID_ARGUMENT || s.code === status.UNIMPLEMENTED) {
          finish(client.explain(toServiceError(s), 0));
          return;
        }
        backoff = Math.min(backoff + 1000, MAX_BACKOFF_MS);
        const why = s.code === status.OK ? 'the agent ended the stream' : client.explain(toServiceError(s), 0).message;
        process.stderr.write(`${why}; retrying in ${backoff / 1000} s\n`);
        timer = setTimeout(connect, backoff);
      });
    };
    connect();
  });
}

function toServiceError(s: { code: status; details: string }): ServiceError {
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new Metadata() });
}
