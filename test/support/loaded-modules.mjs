// Imported into a child process by a test (NODE_OPTIONS=--import): appends the
// URL of every module the process resolves, by import or require, to the file
// LOADED_MODULES_FILE names, so the test can tell what a process has loaded.
// Plain JavaScript: it runs before Node's type stripper is needed.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env.LOADED_MODULES_FILE;
if (file !== undefined) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      appendFileSync(file, `${resolved.url}\n`);
      return resolved;
    },
  });
}
