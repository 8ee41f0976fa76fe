import type { ValidationLimits } from '../../registration/index.js';
import type { AdminApiDeps } from './deps.js';

/** What every handler module gets: the server's dependencies plus the resolved entry limits. */
export interface HandlerContext extends Required<Pick<AdminApiDeps, 'trustDomain' | 'datastore' | 'ca' | 'logger' | 'health'>> {
  limits: ValidationLimits;
}
