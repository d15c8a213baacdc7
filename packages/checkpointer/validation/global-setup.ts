// The same database template setup the jest preset uses, so initializers can clone a fresh,
// migrated database in ~100 ms (createTestDb), and the run's leftovers are dropped at the end.
// @ts-expect-error plain JavaScript helpers of @cairn/db's test infrastructure
import setup from '../../db/testing/global-setup.js';
// @ts-expect-error plain JavaScript helpers of @cairn/db's test infrastructure
import teardown from '../../db/testing/global-teardown.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  await (setup as () => Promise<void>)();
  return async () => {
    await (teardown as () => Promise<void>)();
  };
}
