/**
 * A schema migration: a numbered module applied once, in order, inside the transaction that opens
 * the database. Migrations never change once released; a new need is a new number.
 */
import type { Expression, RawBuilder, SchemaModule } from 'kysely';
import type { EngineKind } from '../dialect.js';

export interface MigrationContext {
  readonly kind: EngineKind;
  readonly schema: SchemaModule;
  /** Column types that are spelled differently per engine but mean the same thing. */
  readonly types: {
    /** Text compared byte by byte on both engines (PostgreSQL: COLLATE "C"), so ORDER BY agrees. */
    readonly text: Expression<unknown> | 'text';
  };
  run(statement: RawBuilder<unknown>): Promise<void>;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(m: MigrationContext): Promise<void>;
}
