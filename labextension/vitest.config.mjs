// Unit tests of the sidebar's logic (the model, the tree's rows and filter), in Node.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    environment: 'node'
  }
});
