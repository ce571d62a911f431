// A logger that prints nothing, for code under test whose logs the test does not read.
import { createLogger } from '../../src/logger.js';

export const silentLogger = createLogger({ level: 'silent', secrets: [] });
