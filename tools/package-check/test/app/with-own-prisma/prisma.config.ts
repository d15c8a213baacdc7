// The application's Prisma config: its schema, its migrations, its database. Nothing of Cairn's:
// Cairn migrates its own tables into schema `cairn` of the same database, with its own history.
// Prisma 7 loads no .env by itself: DATABASE_URL comes from the environment.
import { defineConfig, env } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: env('DATABASE_URL') },
});
