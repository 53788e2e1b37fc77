/**
 * The text of a serialized error's parts, and how it is cut to the budget serializeError
 * (serialized-error.ts) shares out: a {@link Claim} is a text and how much of it was granted; a
 * stack splits into its first lines and its frames; an own property's value is sent as it is,
 * or becomes text (an object as JSON when JSON carries it exactly, else as `util.inspect` shows it).
 */
import { carriedByJson, describe, inspectValue, MAX_JSON_NODES } from './error-values.ts';

/** A text and how many of its characters the budget has granted it so far. */
export class Claim {
  readonly text: string;
  /** Budget a granted character costs: 2 for a name or a message the stack repeats. */
  readonly weight: number;
  granted = 0;
  constructor(text: string, weight = 1) {
    this.text = text;
    this.weight = weight;
  }

  get whole(): boolean {
    return this.granted >= this.text.length;
  }

  /** The text cut to what was granted, saying so; frames are cut `atLine`, not in the middle of one. */
  cut(atLine = false): string {
    if (this.whole) return this.text;
    let end = this.granted;
    // A cut between the two halves of a surrogate pair would leave half a character: cut before it.
    if (end > 0 && isHighSurrogate(this.text.charCodeAt(end - 1))) end--;
    if (atLine) end = Math.max(0, this.text.lastIndexOf('\n', end));
    const more = `... [${this.text.length - end} more characters cut]`;
    return atLine ? `${this.text.slice(0, end)}${end > 0 ? '\n' : ''}    ${more}` : `${this.text.slice(0, end)}${more}`;
  }
}

/** A stack in parts (see {@link splitStack}), each cut on its own. */
export interface StackParts {
  /** The stack's first lines, when they are not `name: message` (a stack written by hand, a message changed after): cut on their own. */
  header?: Claim;
  frames?: Claim;
  /** The stack starts with `name: message`: it is written again from the cut name and message, which cost twice. */
  repeats: boolean;
}

/**
 * A stack's first lines and its frames (`    at ...`): the first lines are `name: message` as
 * V8 writes them (the message may have lines of its own), else those before the first frame.
 */
export function splitStack(stack: unknown, name: string, message: string): StackParts {
  if (typeof stack !== 'string') return { repeats: false };
  const header = errorHeader(name, message);
  if (stack.startsWith(header) && (stack.length === header.length || stack.charCodeAt(header.length) === 10)) {
    return stack.length === header.length ? { repeats: true } : { repeats: true, frames: new Claim(stack.slice(header.length + 1)) };
  }
  const at = stack.search(/\n\s+at /);
  if (at === -1) return { repeats: false, header: new Claim(stack) };
  return { repeats: false, header: new Claim(stack.slice(0, at)), frames: new Claim(stack.slice(at + 1)) };
}

/** The first line(s) of an error's stack, as V8 writes them. */
export function errorHeader(name: string, message: string): string {
  return name && message ? `${name}: ${message}` : name || message;
}

/** A value JSON carries as it is and that costs no more than a key's share: a boolean, a finite number, null. */
export function sentAsIs(value: unknown): boolean {
  return typeof value === 'boolean' || value === null || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * A value that is not an object as text: a string as it is, a number, bigint, function or symbol
 * by `String()` (`'NaN'`, `'7'`, `'[Function: f]'`); undefined for an object.
 */
export function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'object' && value !== null ? undefined : describe(value);
}

/**
 * An object as JSON if JSON carries it exactly, else as `util.inspect` shows it (a NaN or an
 * undefined inside, a Map, a class instance, a cycle...), never half-converted.
 */
export function describeObject(value: object): { text: Claim; json?: boolean } {
  let json: string | undefined;
  try {
    if (carriedByJson(value, 0, { left: MAX_JSON_NODES })) json = JSON.stringify(value);
  } catch {
    // A getter or a Proxy that throws: described below.
  }
  return json === undefined ? { text: new Claim(inspectValue(value)) } : { text: new Claim(json), json: true };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
