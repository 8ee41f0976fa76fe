/**
 * What the agent does when the server refuses it: banned → it stops (exit 1 as a process, with the
 * reason on stderr) and removes its useless SVID; evicted → it tries to attest again, and a join
 * token cannot, so it stops saying so.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AttestationError } from '../../../agent/attestation/errors.js';
import { agentArgs, until, useFixtures } from './harness.js';

describe('agent: refusals', function () {
  this.timeout(60_000);
  const f = useFixtures();

  it('stops when banned, removing its SVID', async () => {
    const server = await f.server();
    const { agent, dataDir, logger } = await f.agent(server);
    await until('synced', () => agent.health().ready);
    const fatal = new Promise<AttestationError>((resolve) => agent.onFatal(resolve));
    await server.ban(agent.agentId!);
    const err = await fatal;
    assert.equal(err.code, 'SIGIL_AGENT_BANNED');
    assert.match(err.message, /the server banned spiffe:\/\/example\.org\/sigil\/agent\/join_token\/\S+: stopping/);
    assert.equal(agent.health().live, false);
    await until('SVID removed', () => !existsSync(join(dataDir, 'agent-svid.json')));
    assert.ok(logger.lines.some((l) => l.level === 'error' && l.message.includes('banned')));
  });

  it('exits 1 with the reason when banned, as a process', async () => {
    const server = await f.server();
    const p = f.process(agentArgs(server, f.tmp(), await server.token()));
    const { agentId } = await p.ready();
    await server.ban(agentId);
    const exit = await p.exited;
    assert.equal(exit.code, 1, p.output());
    assert.match(p.stderr, /sigil agent: stopped: agent: the server banned .*: stopping/);
  });

  it('stops when evicted, because a used join token cannot attest again', async () => {
    const server = await f.server();
    const { agent } = await f.agent(server);
    await until('synced', () => agent.health().ready);
    const fatal = new Promise<AttestationError>((resolve) => agent.onFatal(resolve));
    await server.admin.call('AgentService', 'EvictAgent', { spiffe_id: agent.agentId! });
    const err = await fatal;
    assert.equal(err.code, 'SIGIL_AGENT_IDENTITY_LOST');
    assert.match(err.message, /the server refused this agent \(AGENT_NOT_ATTESTED\) and attesting again failed/);
  });
});
