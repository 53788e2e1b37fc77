/**
 * What the two raw baselines share: children that say `ready` first, a task id and a promise per
 * task, least-busy choice of child. Written with Node core only, no checks and no features: the
 * floor of what any pool over that transport costs.
 */
export class RawPool {
  #children;
  #pending = new Map();
  #nextId = 0;
  #ready;
  #isReady = false;

  /** `children`: `{ send(id, task), inFlight, close(): Promise<void> }` built by the caller. */
  constructor(children, readyPromises) {
    this.#children = children;
    this.#ready = Promise.all(readyPromises).then(() => {
      this.#isReady = true;
    });
  }

  ready() {
    return this.#ready;
  }

  run = (task) => {
    if (!this.#isReady) return this.#ready.then(() => this.run(task));
    let best = this.#children[0];
    for (let k = 1; k < this.#children.length; k++) if (this.#children[k].inFlight < best.inFlight) best = this.#children[k];
    const id = ++this.#nextId;
    best.inFlight++;
    best.send(id, task);
    return new Promise((resolve) => this.#pending.set(id, resolve));
  };

  /** A child answered task `id` with `value`. */
  answer(child, id, value) {
    child.inFlight--;
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    resolve(value);
  }

  async stop() {
    await Promise.all(this.#children.map((c) => c.close()));
  }
}

/** Resolve when `child` has exited (at once if it already has). */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}
