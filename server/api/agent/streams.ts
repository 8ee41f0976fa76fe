/**
 * The open streams of each agent (SyncEntries, WatchBundle), so that banning or evicting an agent
 * ends them at once, and stopping the server ends them all.
 */
import type { AgentApiError } from './errors.js';

export interface OpenStream {
  readonly agentId: string;
  /** Ends the stream with `err`'s status. Called at most once. */
  close(err: AgentApiError): void;
}

export class StreamRegistry {
  readonly #byAgent = new Map<string, Set<OpenStream>>();

  /** Registers `stream`; the returned function removes it (when the stream ends on its own). */
  add(stream: OpenStream): () => void {
    let set = this.#byAgent.get(stream.agentId);
    if (set === undefined) this.#byAgent.set(stream.agentId, (set = new Set()));
    set.add(stream);
    return () => this.#remove(stream);
  }

  count(agentId?: string): number {
    if (agentId !== undefined) return this.#byAgent.get(agentId)?.size ?? 0;
    let n = 0;
    for (const set of this.#byAgent.values()) n += set.size;
    return n;
  }

  /** Closes the agent's streams; returns how many there were. */
  closeAgent(agentId: string, err: AgentApiError): number {
    const set = this.#byAgent.get(agentId);
    if (set === undefined) return 0;
    this.#byAgent.delete(agentId);
    for (const stream of set) stream.close(err);
    return set.size;
  }

  closeAll(err: AgentApiError): void {
    for (const agentId of [...this.#byAgent.keys()]) this.closeAgent(agentId, err);
  }

  #remove(stream: OpenStream): void {
    const set = this.#byAgent.get(stream.agentId);
    if (set === undefined) return;
    set.delete(stream);
    if (set.size === 0) this.#byAgent.delete(stream.agentId);
  }
}
