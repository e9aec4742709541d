// drizzle-kit settings for SQLite: generates SQL migrations from src/store/schema.ts into migrations/sqlite/.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/schema.ts',
  out: './migrations/sqlite',
});
