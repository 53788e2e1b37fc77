/** The check every options object of the public API gets: a key nobody reads is a typo. */

/**
 * @throws {TypeError} `Unknown option \`<prefix><key>\`` (then `hint`) for the first own key of
 * `input` that is not in `known`
 */
export function assertKnownKeys(input: object, known: ReadonlySet<string>, prefix = '', hint = ''): void {
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new TypeError(`Unknown option \`${prefix}${key}\`${hint}`);
  }
}
