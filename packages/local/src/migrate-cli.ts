import { migrate } from './migrate';

// `npm run migrate`: applies pending migrations to DATABASE_URL (e.g. a Neon database).
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL to the database to migrate.');
  process.exit(1);
}
await migrate(url);
console.log('Migrations applied.');
