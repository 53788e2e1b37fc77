// poolifier's cluster workers are CommonJS here: with an ES module worker the parent's start-up
// message can arrive before the module has loaded, and the pool never hears back.
const { ClusterWorker } = require('poolifier');
const { handle } = require('../handler.mjs');

// poolifier treats a task function as asynchronous only when it is an `async function`.
module.exports = new ClusterWorker(async (task) => handle(task));
