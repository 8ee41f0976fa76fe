/**
 * `sigil agent run`: load the config (flags over file over defaults), attest or reuse the stored
 * SVID, sync, serve the Workload API, print one ready line on stderr, and stop gracefully on
 * SIGINT or SIGTERM (exit 0). When the agent has to stop by itself — the server banned it, or it
 * lost its identity and cannot attest again — it exits 1 with the reason on stderr and in the log.
 * Logs go to stdout (JSON, or pretty on a terminal), as the server's do.
 */
import { Command, CommanderError } from 'commander';
import { messageOf } from '../../spiffe/errors.js';
import { SigilAgent, type AgentStarted } from '../agent.js';
import { AgentConfigError, CONFIG_FLAGS, FILE_ONLY_HINT, loadConfig, type AgentConfig, type ConfigFlags } from '../config/index.js';
import { createLogger } from '../logger.js';

/** The first words of the ready line: scripts and tests wait for a stderr line starting with them. */
export const READY_PREFIX = 'sigil agent ready: ';

interface RunOptions extends ConfigFlags {
  config?: string;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run the agent: attest the node, sync entries, serve the Workload API and Envoy SDS on its socket')
    .option('--config <FILE>', 'YAML config file (camelCase keys); flags override it');
  for (const f of CONFIG_FLAGS) {
    const spelling = f.arg === undefined ? f.flag : `${f.flag} <${f.arg}>`;
    if (f.repeatable) cmd.option(spelling, f.help, (v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    else cmd.option(spelling, f.help);
  }
  return cmd
    .addHelpText(
      'after',
      `\n${FILE_ONLY_HINT}\n\nExample, as a Kubernetes DaemonSet runs it (MY_NODE_NAME from the downward API):\n` +
        '  sigil agent run --config /run/sigil/agent.yaml --workload-attestor unix --workload-attestor k8s \\\n' +
        '    --kubelet-ca /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n' +
        `\nOn SIGINT or SIGTERM the agent stops gracefully and exits 0; banned or unable to attest, it exits 1.`,
    )
    .action(async (opts: RunOptions) => run(opts));
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  throw new CommanderError(1, 'sigil.agent.run', message);
}

async function run(opts: RunOptions): Promise<void> {
  const { config: configFile, ...flags } = opts;
  let config: AgentConfig;
  try {
    config = await loadConfig({ configFile, flags });
  } catch (err) {
    if (err instanceof AgentConfigError) fail(err.message);
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  let agent: SigilAgent;
  try {
    agent = new SigilAgent({ config, logger });
  } catch (err) {
    // The node attestor refuses a malformed join token before anything is sent.
    fail(`sigil agent: ${messageOf(err)}`);
  }
  const fatal = new Promise<Error>((resolve) => agent.onFatal(resolve));
  // Listening before start: a signal while attesting (which may wait for the server) stops the
  // agent, and start() then gives up.
  const signalled = waitForSignal();
  let signal: NodeJS.Signals | undefined;
  let starting = true;
  void signalled.promise.then((s) => {
    if (!starting) return;
    signal = s;
    agent.stop().catch((err: unknown) => logger.error({ err: messageOf(err) }, 'agent: stopping failed'));
  });
  let started: AgentStarted;
  try {
    started = await agent.start();
  } catch (err) {
    signalled.cancel();
    if (signal !== undefined) {
      logger.info({}, `agent: ${signal} received while starting; stopped`);
      return;
    }
    fail(`sigil agent: failed to start: ${messageOf(err)}`);
  }
  starting = false;
  process.stderr.write(`${READY_PREFIX}${started.agentId}, serving the Workload API on ${started.socketPath ?? '(not served)'}\n`);

  const outcome = await Promise.race([signalled.promise, fatal]);
  if (outcome instanceof Error) {
    signalled.cancel();
    await agent.stop();
    fail(`sigil agent: stopped: ${outcome.message}`);
  }
  logger.info({}, `agent: ${outcome} received, stopping`);
  try {
    await agent.stop();
  } catch (err) {
    fail(`sigil agent: stopping failed: ${messageOf(err)}`);
  }
}

function waitForSignal(): { promise: Promise<NodeJS.Signals>; cancel(): void } {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    handler = (signal) => {
      // A second signal while stopping gets the default behaviour: the operator insists.
      cancel();
      resolve(signal);
    };
  });
  const cancel = (): void => {
    for (const s of signals) process.off(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return { promise, cancel };
}
