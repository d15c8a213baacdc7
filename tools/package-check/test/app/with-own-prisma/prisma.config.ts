// The application's Prisma config: its schema, its migrations, its database. Nothing of Cairn's:
// Cairn migrates its own tables into schema `cairn` (createCairn({ db: { schema: 'cairn', migrate: true } })).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/app' },
});
