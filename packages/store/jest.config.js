import { jestConfig } from '../../scripts/jest-preset.js';

export default jestConfig();
