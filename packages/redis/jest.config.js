import { jestConfig } from '../../scripts/jest-preset.js';

// Two workers: the embedded-database file spends most of its time starting PGlite, and the other
// files can run meanwhile.
export default { ...jestConfig(), maxWorkers: 2 };
