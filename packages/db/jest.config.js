import { jestConfig } from '../../scripts/jest-preset.js';

// Two workers: the migration tests spend most of their time waiting on the Prisma CLI processes
// they spawn, so the other files can run meanwhile.
export default { ...jestConfig({ testTimeout: 120_000 }), maxWorkers: 2 };
