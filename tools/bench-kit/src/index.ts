// @cairn/bench-kit: what every bench in the workspace measures with (private; TypeScript source
// under the `@cairn/source` condition, run by tsx like the benches). See README.md.
export { compareInterleaved, medianRoundRatio, type BenchCall, type CompareOptions, type SideMeasurement, type WarmupOptions } from './compare-interleaved.js';
export { percentile, median, summarize, type Measurement } from './statistics.js';
export { formatTable, printTable, type Align, type TableOptions } from './table.js';
export { scratchDatabase, type ScratchDatabase, type ScratchDatabaseOptions } from './scratch-database.js';
export { describeMachine } from './machine.js';
export { envInteger, envIntegerList, envString, adminUrlFromEnv, redisUrlFromEnv, DEFAULT_ADMIN_URL, DEFAULT_REDIS_URL } from './env.js';
