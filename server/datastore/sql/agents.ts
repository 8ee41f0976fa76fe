/**
 * Attested agents and their node selectors. Every change is a read-modify-write of one agent row
 * (locked on PostgreSQL) plus its change event, so two servers renewing or banning the same agent
 * see each other's result rather than overwrite it.
 */
import type { Kysely } from 'kysely';
import type { AgentStore } from '../datastore.js';
import { conflict, notFound, q } from '../errors.js';
import type { AttestedAgent, Page, PageResult, Selector } from '../types.js';
import { type SqlContext, type WriteTx, query, read, write } from './context.js';
import { decodePageToken, finishPage, pageSize } from './paging.js';
import type { AgentRow, Database } from './schema.js';
import { checkInt, checkIntOrNull, chunk, compareSelectors, fromBool, normalizeSelectors, nowSeconds, toBool, toNumber, toNumberOrNull } from './values.js';

type AgentInput = Omit<AttestedAgent, 'createdAt' | 'updatedAt'>;
type AgentChanges = Partial<Omit<AgentRow, 'spiffe_id' | 'created_at' | 'updated_at'>>;

export class SqlAgentStore implements AgentStore {
  constructor(private readonly ctx: SqlContext) {}

  async upsert(agent: AgentInput): Promise<AttestedAgent> {
    const now = nowSeconds();
    const row: AgentRow = {
      spiffe_id: agent.spiffeId,
      attestation_type: agent.attestationType,
      serial_number: agent.serialNumber,
      expires_at: checkInt(`agent ${q(agent.spiffeId)}: expiresAt`, agent.expiresAt),
      new_serial_number: agent.newSerialNumber,
      new_expires_at: checkIntOrNull(`agent ${q(agent.spiffeId)}: newExpiresAt`, agent.newExpiresAt),
      banned: fromBool(agent.banned),
      can_reattest: fromBool(agent.canReattest),
      agent_version: agent.agentVersion,
      created_at: now,
      updated_at: now,
    };
    return write(this.ctx, 'agents.upsert', async (tx) => {
      const { spiffe_id: _key, created_at: _created, ...changes } = row;
      await tx.trx
        .insertInto('attested_agents')
        .values(row)
        .onConflict((oc) => oc.column('spiffe_id').doUpdateSet(changes))
        .execute();
      await replaceSelectors(tx.trx, agent.spiffeId, agent.selectors, this.ctx.dialect.maxParams);
      tx.event('agent', agent.spiffeId, 'upsert');
      return this.load(tx.trx, agent.spiffeId);
    });
  }

  async get(spiffeId: string): Promise<AttestedAgent | undefined> {
    return read(this.ctx, 'agents.get', async (trx) => {
      const row = await trx.selectFrom('attested_agents').selectAll().where('spiffe_id', '=', spiffeId).executeTakeFirst();
      return row ? (await withSelectors(trx, [row], this.ctx.dialect.maxParams))[0] : undefined;
    });
  }

  async list(filter?: { attestationType?: string; banned?: boolean }, page?: Page): Promise<PageResult<AttestedAgent>> {
    const size = pageSize(page);
    const after = decodePageToken(page?.pageToken);
    return read(this.ctx, 'agents.list', async (trx) => {
      const rows = await trx
        .selectFrom('attested_agents')
        .selectAll()
        .$if(filter?.attestationType !== undefined, (qb) => qb.where('attestation_type', '=', filter!.attestationType!))
        .$if(filter?.banned !== undefined, (qb) => qb.where('banned', '=', fromBool(filter!.banned!)))
        .$if(after !== undefined, (qb) => qb.where('spiffe_id', '>', after!))
        .orderBy('spiffe_id')
        .$if(size > 0, (qb) => qb.limit(size + 1))
        .execute();
      const pageRows = finishPage(rows, size, (r) => r.spiffe_id);
      const items = await withSelectors(trx, pageRows.rows, this.ctx.dialect.maxParams);
      return pageRows.nextPageToken === undefined ? { items } : { items, nextPageToken: pageRows.nextPageToken };
    });
  }

  async count(): Promise<number> {
    return query(this.ctx, 'agents.count', async (db) => {
      const row = await db.selectFrom('attested_agents').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return toNumber(row.n as number | bigint);
    });
  }

  setNewSerial(spiffeId: string, serial: string, expiresAt: number): Promise<AttestedAgent> {
    checkInt(`agent ${q(spiffeId)}: expiresAt`, expiresAt);
    return this.change('agents.setNewSerial', spiffeId, () => ({ new_serial_number: serial, new_expires_at: expiresAt }));
  }

  promoteNewSerial(spiffeId: string): Promise<AttestedAgent> {
    return this.change('agents.promoteNewSerial', spiffeId, (row) => {
      if (row.new_serial_number === null || row.new_expires_at === null) {
        throw conflict(`agent ${q(spiffeId)} has no new serial number to promote`);
      }
      return {
        serial_number: row.new_serial_number,
        expires_at: row.new_expires_at,
        new_serial_number: null,
        new_expires_at: null,
      };
    });
  }

  setSelectors(spiffeId: string, selectors: Selector[]): Promise<AttestedAgent> {
    return this.change('agents.setSelectors', spiffeId, () => ({}), async (tx) => {
      await replaceSelectors(tx.trx, spiffeId, selectors, this.ctx.dialect.maxParams);
    });
  }

  ban(spiffeId: string): Promise<AttestedAgent> {
    return this.change('agents.ban', spiffeId, () => ({ banned: 1 }));
  }

  async delete(spiffeId: string): Promise<AttestedAgent> {
    return write(this.ctx, 'agents.delete', async (tx) => {
      const agent = await this.lock(tx.trx, spiffeId);
      const [record] = await withSelectors(tx.trx, [agent], this.ctx.dialect.maxParams);
      await tx.trx.deleteFrom('attested_agents').where('spiffe_id', '=', spiffeId).execute();
      tx.event('agent', spiffeId, 'delete');
      return record!;
    });
  }

  private change(
    operation: string,
    spiffeId: string,
    next: (row: AgentRow) => AgentChanges,
    also?: (tx: WriteTx) => Promise<void>,
  ): Promise<AttestedAgent> {
    return write(this.ctx, operation, async (tx) => {
      const row = await this.lock(tx.trx, spiffeId);
      await tx.trx
        .updateTable('attested_agents')
        .set({ ...next(row), updated_at: nowSeconds() })
        .where('spiffe_id', '=', spiffeId)
        .execute();
      await also?.(tx);
      tx.event('agent', spiffeId, 'upsert');
      return this.load(tx.trx, spiffeId);
    });
  }

  private async lock(db: Kysely<Database>, spiffeId: string): Promise<AgentRow> {
    const row = await db
      .selectFrom('attested_agents')
      .selectAll()
      .where('spiffe_id', '=', spiffeId)
      .$if(this.ctx.dialect.rowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    if (!row) throw notFound(`agent ${q(spiffeId)}`);
    return row;
  }

  private async load(db: Kysely<Database>, spiffeId: string): Promise<AttestedAgent> {
    const row = await db.selectFrom('attested_agents').selectAll().where('spiffe_id', '=', spiffeId).executeTakeFirstOrThrow();
    return (await withSelectors(db, [row], this.ctx.dialect.maxParams))[0]!;
  }
}

async function replaceSelectors(db: Kysely<Database>, spiffeId: string, selectors: Selector[], maxParams: number): Promise<void> {
  await db.deleteFrom('agent_selectors').where('spiffe_id', '=', spiffeId).execute();
  const rows = normalizeSelectors(selectors).map((s) => ({ spiffe_id: spiffeId, type: s.type, value: s.value }));
  for (const part of chunk(rows, 3, maxParams)) await db.insertInto('agent_selectors').values(part).execute();
}

async function withSelectors(db: Kysely<Database>, rows: AgentRow[], maxParams: number): Promise<AttestedAgent[]> {
  const selectors = new Map<string, Selector[]>();
  for (const ids of chunk(rows.map((r) => r.spiffe_id), 1, maxParams)) {
    if (ids.length === 0) continue;
    const found = await db.selectFrom('agent_selectors').selectAll().where('spiffe_id', 'in', ids).execute();
    for (const s of found) {
      const list = selectors.get(s.spiffe_id) ?? [];
      list.push({ type: s.type, value: s.value });
      selectors.set(s.spiffe_id, list);
    }
  }
  return rows.map((r) => ({
    spiffeId: r.spiffe_id,
    attestationType: r.attestation_type,
    serialNumber: r.serial_number,
    expiresAt: toNumber(r.expires_at),
    newSerialNumber: r.new_serial_number,
    newExpiresAt: toNumberOrNull(r.new_expires_at),
    banned: toBool(r.banned),
    canReattest: toBool(r.can_reattest),
    selectors: (selectors.get(r.spiffe_id) ?? []).sort(compareSelectors),
    agentVersion: r.agent_version,
    createdAt: toNumber(r.created_at),
    updatedAt: toNumber(r.updated_at),
  }));
}
