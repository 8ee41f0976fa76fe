import { X509Certificate } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { BundleMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';

/** `sigil server bundle show [--format pem|spiffe]`: the trust domain's bundle. */
export function showCommand(): Command {
  const cmd = adminCommand('show')
    .description("print the trust domain's bundle: X.509 CA certificates (pem) or the SPIFFE bundle document (spiffe)")
    .addOption(new Option('--format <format>', 'pem or spiffe').choices(['pem', 'spiffe']).default('pem'));
  withExamples(
    cmd,
    'sigil server bundle show > bundle.pem',
    'sigil server bundle show --format spiffe > bundle.json',
  );
  return cmd.action(
    action(async (f: AdminOptions & { format: 'pem' | 'spiffe' }) => {
      const b = await withAdmin(f, (c) => c.call<BundleMsg>('BundleService', 'GetBundle', {}));
      if (f.output === 'json') {
        writeJson({
          trust_domain: b.trust_domain,
          x509_authorities: b.x509_authorities.map((der) => ({ asn1: Buffer.from(der).toString('base64') })),
          jwt_authorities: b.jwt_authorities.map((j) => ({ key_id: j.key_id, public_key: Buffer.from(j.public_key).toString('base64') })),
          refresh_hint: Number(b.refresh_hint),
          sequence_number: b.sequence_number,
        });
      } else if (f.format === 'spiffe') {
        write(b.spiffe_document);
      } else {
        write(b.x509_authorities.map((der) => new X509Certificate(der).toString()).join(''));
      }
    }),
  );
}
