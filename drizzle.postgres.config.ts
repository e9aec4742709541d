// drizzle-kit settings for PostgreSQL: generates SQL migrations from src/store/pg/schema.ts into migrations/postgres/.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/pg/schema.ts',
  out: './migrations/postgres',
});
