// Applies the migrations @cairn/db ships into schema `cairn` of the application's database; they
// are recorded in cairn._prisma_migrations, apart from the application's own history in public.
import { createDb } from './umbrella.js';

const db = await createDb({ url: process.env.DATABASE_URL, schema: 'cairn', migrate: true });
console.log(JSON.stringify({ schema: db.schema }));
await db.close();
