/** The problems an agent config is refused with, for tests that expect a refusal. */
import assert from 'node:assert/strict';
import { AgentConfigError, resolveConfig, type ConfigSources } from '../../agent/config/index.js';

export function configProblems(sources: ConfigSources): readonly string[] {
  try {
    resolveConfig(sources);
  } catch (err) {
    if (err instanceof AgentConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a config error');
}
