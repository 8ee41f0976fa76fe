/**
 * `sigil server run`: load the config (flags over file over defaults), start the server, print one
 * ready line, and stop gracefully on SIGINT or SIGTERM (exit 0). Logs go to stdout (JSON, or pretty
 * on a terminal); the ready line and fatal errors go to stderr, so a log shipper reading stdout
 * only ever sees JSON.
 */
import { Command, CommanderError } from 'commander';
import { messageOf } from '../../spiffe/errors.js';
import {
  CONFIG_FLAGS, ConfigError, FILE_ONLY_HINT, formatHostPort, loadConfig, TPM_EK_CA_FLAG, type ConfigFlags, type ServerConfig,
} from '../config/index.js';
import { createLogger } from '../logger.js';
import { SigilServer, type ServerEndpoints } from '../server.js';

/** The first words of the ready line: scripts and tests wait for a stderr line starting with them. */
export const READY_PREFIX = 'sigil server ready: ';

interface RunOptions extends ConfigFlags {
  config?: string;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run the server: CA, agent API and admin API')
    .option('--config <FILE>', 'YAML config file (camelCase keys); flags override it');
  for (const f of CONFIG_FLAGS) cmd.option(`${f.flag} <${f.arg}>`, f.help);
  cmd.option(`${TPM_EK_CA_FLAG.flag} <${TPM_EK_CA_FLAG.arg}>`, TPM_EK_CA_FLAG.help, (v: string, all: string[] = []) => [...all, v]);
  return cmd
    .addHelpText('after', `\n${FILE_ONLY_HINT}\nOn SIGINT or SIGTERM the server stops gracefully and exits 0.`)
    .action(async (opts: RunOptions) => run(opts));
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  throw new CommanderError(1, 'sigil.server.run', message);
}

async function run(opts: RunOptions): Promise<void> {
  const { config: configFile, ...flags } = opts;
  let config: ServerConfig;
  try {
    config = await loadConfig({ configFile, flags });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  const logger = createLogger({ level: config.logLevel });
  const server = new SigilServer({ config, logger });
  // Listening before start: a signal while starting stops what has started, not the process.
  const signalled = waitForSignal();
  let endpoints: ServerEndpoints;
  try {
    endpoints = await server.start();
  } catch (err) {
    signalled.cancel();
    fail(`sigil server: failed to start: ${messageOf(err)}`);
  }
  process.stderr.write(`${readyLine(config, endpoints)}\n`);
  logger.info('server: ready', { agentApi: formatHostPort(endpoints.agentApi), adminSocket: endpoints.adminSocket });

  const signal = await signalled.promise;
  logger.info(`server: ${signal} received, stopping`);
  try {
    await server.stop();
  } catch (err) {
    fail(`sigil server: stopping failed: ${messageOf(err)}`);
  }
  logger.info('server: stopped');
}

export function readyLine(config: ServerConfig, endpoints: ServerEndpoints): string {
  return (
    `${READY_PREFIX}trust domain ${config.trustDomain.name}, agent API ${formatHostPort(endpoints.agentApi)}, ` +
    `admin socket ${endpoints.adminSocket}`
  );
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
