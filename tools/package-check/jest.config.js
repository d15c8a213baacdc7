import { jestConfig } from '../../scripts/jest-preset.js';

// No template database: the test creates its own on the loopback PostgreSQL and migrates it through
// the installed packages, as a user would. npm installs take most of its time.
export default jestConfig({ database: false, testTimeout: 300_000 });
