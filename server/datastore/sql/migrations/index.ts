import type { Migration } from './migration.js';
import { initial } from './001-initial.js';

/** Every migration, in the order they apply; versions are 1, 2, 3… with no holes. */
export const MIGRATIONS: readonly Migration[] = [initial];
