// Preloaded into Etsy's statsd daemon (statsd-daemon.ts) only: the daemon (0.9.0, the last) calls
// util.log, which Node 23 removed; without it the daemon does not start on Node 24.
const util = require('node:util');

if (typeof util.log !== 'function') util.log = (message) => process.stdout.write(`${new Date().toISOString()} - ${message}\n`);
