// Moved to src/config/; this re-export goes when importers' paths are rewritten.
export * from './config/index.js';
