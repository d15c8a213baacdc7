// Run in the scratch app before the optional peers are installed: the main entries load, and each
// feature that needs a missing peer says which packages to install.
import { createCairn, MissingDependencyError } from '@cairn/cairn';

const databaseUrl = process.env.APP_DATABASE_URL;
const report = {};

async function failure(start) {
  try {
    const cairn = await start();
    await cairn.close();
    return { started: true };
  } catch (error) {
    const cause = error.cause;
    return { code: error.code, causeCode: cause?.code, missing: cause instanceof MissingDependencyError ? cause.packages : undefined, message: cause?.message ?? error.message };
  }
}

report.embedded = await failure(() => createCairn({ db: { embedded: { inMemory: true } } }));
report.migrate = await failure(() => createCairn({ databaseUrl, db: { migrate: true } }));
report.store = await failure(() => createCairn({ databaseUrl, store: {} }));
for (const entry of ['@cairn/cairn/langgraph', '@cairn/cairn/langchain']) {
  report[entry] = await import(entry).then(() => 'loaded', (error) => error.code);
}
console.log(JSON.stringify(report));
