// Object type names (the `type` column: `UserProfile`, `billing.Invoice`): objects' own rule, an
// ASCII pattern narrower than core's id rule, because a type name is part of every key and of the
// Redis cache's key prefix, and names a schema in code rather than a user's value.
import { z } from 'zod';

/** Object type names: 1-128 ASCII letters, digits and `_ . : -`, starting with a letter. */
export const TypeNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 characters: letters, digits, _ . : - (starting with a letter)');
