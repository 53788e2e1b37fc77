/**
 * The check every options object of the public API gets: a key nobody reads is a typo, and a
 * null is a mistake (JSON's "no value", a field read from a config that was never set): an
 * option is left out for its default, so null is refused rather than read as the default for
 * some options and as a bad value for others.
 */

const NONE: ReadonlySet<string> = new Set();

/**
 * An options object with no unknown own key: `Unknown option \`<prefix><key>\`` (then `hint`,
 * which may depend on the key: `put` names the options of `run` given to it) for the first own
 * key of `input` that is not in `known`. Reads no value: readOptions (option-checks.ts) reads them,
 * each once, and checks each with assertNotNull.
 * @throws {TypeError}
 */
export function assertOnlyKnownKeys(input: object, known: ReadonlySet<string>, prefix = '', hint: string | ((key: string) => string) = ''): void {
  const what = prefix ? `\`${prefix.slice(0, -1)}\`` : 'the options';
  let kind: string | undefined;
  let keys: string[];
  try {
    // A Proxy's traps run here (its Symbol.toStringTag, its ownKeys): what they throw is bad input too.
    kind = notOptionsObject(input);
    keys = Object.keys(input);
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new TypeError(`Expected ${what} to be readable, got an error when listing ${prefix ? 'its' : 'their'} keys (${why})`, { cause: error });
  }
  if (kind !== undefined) throw new TypeError(`Expected ${what} to be an object, got ${kind}`);
  for (const key of keys) {
    if (!known.has(key)) throw new TypeError(`Unknown option \`${prefix}${key}\`${typeof hint === 'string' ? hint : hint(key)}`);
  }
}

/**
 * The value of option `key` is not null, unless `key` is in `nullable` (an option whose value may
 * be anything, such as a pool's `workerData`): `Expected \`<prefix><key>\` not to be null`.
 * @throws {TypeError}
 */
export function assertNotNull(prefix: string, key: string, value: unknown, nullable = NONE): void {
  if (value === null && !nullable.has(key)) throw new TypeError(`Expected \`${prefix}${key}\` not to be null (leave it out for its default)`);
}

/**
 * What `input` is when it cannot be an options object although `typeof` says object: an array, or
 * a built-in such as a Map or a Date, whose contents are no own keys (read as `{}`, every option
 * took its default). Undefined for a plain object or an instance of a class of yours.
 */
export function notOptionsObject(input: object): string | undefined {
  if (Array.isArray(input)) return 'an array';
  const tag = Object.prototype.toString.call(input).slice(8, -1);
  return tag === 'Object' ? undefined : `a ${tag}`;
}
