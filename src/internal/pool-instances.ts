/**
 * The instance number of each running pool among those of its name in this process: 1 for the
 * first, the lowest free one for the next. Nothing outside the process tells two pools of one
 * name apart but this: their workers' titles (`looppool <name>@2 worker <n>`) and their control
 * sockets (`<pid>@<name>@2.sock`) carry it, so `looppool ps`, `top` and `stop` list each pool with
 * its own workers and socket. The pool and its control server claim the number for the same
 * owner (the Pool object), whichever comes first, and so get the same one.
 */

/** A pool's place among the running pools of its name. */
export interface PoolInstance {
  /** 1 for the first pool of its name in this process. */
  readonly instance: number;
  /** How many other owners hold a number of that name now (0: the pool has its name to itself). */
  readonly others: number;
  /** Give the number back once this holder is done with it (the number is free once every holder of its owner gave it back). Idempotent. */
  release(): void;
}

interface Claim {
  readonly owner: object;
  holders: number;
}

/**
 * Per name, the numbers taken and who holds them: one table per process, kept on globalThis, so
 * that two copies of looppool in one process (two versions in node_modules) number their pools
 * together; each with a table of its own gave two pools of one name the number 1, the same
 * titles, and the second's control socket was refused.
 */
const TABLE = Symbol.for('looppool.poolInstances');
const taken: Map<string, Map<number, Claim>> = ((globalThis as { [TABLE]?: Map<string, Map<number, Claim>> })[TABLE] ??= new Map());

/** The instance number of `owner` (a pool) among the pools named `name`: the one it holds, else the lowest free one. */
export function claimInstance(name: string, owner: object): PoolInstance {
  let numbers = taken.get(name);
  if (!numbers) taken.set(name, (numbers = new Map()));
  let instance = [...numbers].find(([, claim]) => claim.owner === owner)?.[0];
  if (instance === undefined) {
    instance = 1;
    while (numbers.has(instance)) instance++;
    numbers.set(instance, { owner, holders: 0 });
  }
  const claim = numbers.get(instance) as Claim;
  claim.holders++;
  const ofName = numbers;
  const number = instance;
  let released = false;
  return {
    instance,
    others: numbers.size - 1,
    release: () => {
      if (released) return;
      released = true;
      if (--claim.holders > 0) return;
      ofName.delete(number);
      if (ofName.size === 0 && taken.get(name) === ofName) taken.delete(name);
    },
  };
}
