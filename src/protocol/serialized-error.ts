/**
 * Errors as they cross the process boundary. `serializeError` runs in the process where the
 * error was thrown, `deserializeError` (deserialize-error.ts) in the one that receives it;
 * together they keep the name, message, stack, `code` and other own properties, an
 * AggregateError's `errors`, and the `cause` chain. Whatever was thrown, the result is bounded in size and reading it never throws.
 * Here the budget is shared out; the parts' text and how it is cut are error-text.ts's.
 */
import { Claim, describeObject, errorHeader, primitiveText, sentAsIs, splitStack, type StackParts } from './error-text.ts';
import { describe, isDomException, isError, read, readable } from './error-values.ts';

/**
 * The wire shape of an error. Own properties JSON cannot carry exactly become strings (see
 * {@link carriedByJson}).
 */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  props?: Record<string, unknown>;
  /** An AggregateError's `errors` (the first {@link MAX_AGGREGATED}). */
  errors?: SerializedError[];
  /** A DOMException (AbortSignal.timeout()'s reason, fetch's abort...): rebuilt as one. Its name alone could be any class's. */
  dom?: true;
  cause?: SerializedError | { value: unknown };
}

/** Causes (and aggregated errors) one serialized error nests at most; the parse boundary refuses deeper. */
export const MAX_CAUSE_DEPTH = 5;
const MAX_AGGREGATED = 20;
/** Errors one serialized error holds at most, itself, its causes and aggregated errors included. */
const MAX_ERRORS = 50;
/**
 * Characters of text (message, stack, properties) one serialized error may hold, causes and
 * aggregated errors included: at 6 bytes a character once escaped, under the 1 MiB the parent
 * reads beyond `maxMessageBytes`, whatever that is. Longer text is cut, and says so.
 */
const ERROR_TEXT_BUDGET = 128 * 1024;
/** Most of the budget one message, one stack's frames, or one property may take. */
const MAX_FIELD = 16 * 1024;
/** Most of the budget a name takes. */
const MAX_NAME = 200;
/** What a message, the first lines of a stack and a long property get in the first rounds (see {@link ErrorWriter.share}). */
const FIRST_ROUND = 1024;
/** What a stack's frames get in the first round: about 25 frames. */
const FIRST_FRAMES = 4 * 1024;
/** A property whose value is at most this long (`code`, `errno`, `status`...) is sent whole before any long one gets budget. */
const SHORT_VALUE = 200;
/** A property's name is cut to this; each property is charged its name and PROP_COST more (quotes, colon, a small value). */
const MAX_KEY = 200;
const PROP_COST = 32;
/** Properties of one error looked at: more could not all be charged PROP_COST within the budget. */
const MAX_PROPS = Math.floor(ERROR_TEXT_BUDGET / PROP_COST);
/** Properties sent as fields of their own (or never), not as `props`. An error's `errors` is one of its props but for an AggregateError's. */
const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'cause', '__proto__', 'constructor', 'prototype']);

/** Turn anything thrown (an `Error` or not) into a {@link SerializedError}. Never throws. */
export function serializeError(thrown: unknown): SerializedError {
  try {
    const writer = new ErrorWriter();
    const out = writer.collect(thrown, 0);
    writer.share();
    return out;
  } catch (err) {
    // A Proxy, a revoked one, a getter on the prototype... described, never thrown to the caller.
    return { name: 'Error', message: unreadable(err) };
  }
}

/** What an error that cannot be read (a Proxy whose traps throw, a revoked one) is sent as: why. */
function unreadable(err: unknown): string {
  return `the error could not be read (${describe(err)})`;
}

/** An own property, read; `sent` once the budget has room for it: its value as it is, or as text cut to `text`. */
interface Prop {
  key: string;
  value: unknown;
  sent?: { text?: Claim; json?: boolean };
}

/** One error of those written (itself, a cause, an aggregated error): its text waits for {@link ErrorWriter.share}. */
interface Entry extends StackParts {
  out: SerializedError;
  name: Claim;
  message: Claim;
  props: Prop[];
  /** A `cause` that is not an error: a property of its own. */
  cause?: Prop;
}

/**
 * Reads an error and what it holds ({@link collect}), then shares out the budget ({@link share}), so
 * that what says what happened and where is never crowded out by a big property or by a long
 * message: names, the messages' and stacks' first lines, and short properties (`code`...) of
 * every error of the chain first, then more of the messages and frames, then long properties.
 */
class ErrorWriter {
  #left = ERROR_TEXT_BUDGET;
  #entries: Entry[] = [];

  /** Read `thrown`, its aggregated errors and its causes into entries, their text uncut. */
  collect(thrown: unknown, depth: number): SerializedError {
    if (!isError(thrown)) return this.#nonError(thrown, depth);
    const props: Prop[] = [];
    const name = textOf(read(thrown, 'name'), 'Error', 'thrownName', props);
    const message = textOf(read(thrown, 'message'), '', 'thrownMessage', props); // a string but for one assigned after the fact (`err.message = 404`)
    const errors = read(thrown, 'errors');
    // Another realm's AggregateError (a vm context's) is known by its name.
    const aggregated = (thrown instanceof AggregateError || (!(thrown instanceof Error) && name === 'AggregateError')) && Array.isArray(errors);
    const entry = this.#add(name, message, read(thrown, 'stack'), props.concat(ownProps(thrown, aggregated)));
    const { out } = entry;
    if (isDomException(thrown)) out.dom = true;
    if (aggregated && depth < MAX_CAUSE_DEPTH) {
      out.errors = [];
      for (const e of errors.slice(0, MAX_AGGREGATED)) if (this.#entries.length < MAX_ERRORS) out.errors.push(this.#nested(e, depth + 1));
    }
    this.#cause(entry, thrown, depth);
    return out;
  }

  /**
   * A thrown string, number, plain object...: `NonError`, with an object's `message` (or the
   * object shown readably), `stack` (a string), `name`, own properties and `cause` kept.
   */
  #nonError(thrown: unknown, depth: number): SerializedError {
    if (typeof thrown !== 'object' || thrown === null) return this.#add('NonError', describe(thrown), undefined, []).out;
    const props: Prop[] = [];
    const name = read(thrown, 'name');
    if (name !== undefined) props.push({ key: 'thrownName', value: name }); // the error is NonError: its own name is a property
    const message = textOf(read(thrown, 'message'), undefined, 'thrownMessage', props) ?? readable(thrown);
    const entry = this.#add('NonError', message, read(thrown, 'stack'), props.concat(ownProps(thrown)));
    this.#cause(entry, thrown, depth);
    return entry.out;
  }

  /**
   * A cause or an aggregated error, read as the error itself is; one that cannot be read (a
   * Proxy whose traps throw) is sent as an error saying so, and costs the error that holds it nothing.
   */
  #nested(thrown: unknown, depth: number): SerializedError {
    try {
      return this.collect(thrown, depth);
    } catch (err) {
      return this.#add('Error', unreadable(err), undefined, []).out;
    }
  }

  #add(name: string, message: string, stack: unknown, props: Prop[]): Entry {
    const out: SerializedError = { name: '', message: '' };
    if (typeof stack === 'string') out.stack = '';
    const { header, frames, repeats } = splitStack(stack, name, message);
    const weight = repeats ? 2 : 1;
    const entry: Entry = { out, name: new Claim(name, weight), message: new Claim(message, weight), repeats, props };
    if (header) entry.header = header;
    if (frames) entry.frames = frames;
    this.#entries.push(entry);
    return entry;
  }

  #cause(entry: Entry, source: object, depth: number): void {
    const cause = read(source, 'cause');
    if (cause === undefined || depth >= MAX_CAUSE_DEPTH || this.#entries.length >= MAX_ERRORS) return;
    if (errorOrUnreadable(cause)) entry.out.cause = this.#nested(cause, depth + 1);
    else entry.cause = { key: 'cause', value: cause };
  }

  /** Share the budget out in rounds, each over every error, then write the text granted. */
  share(): void {
    const entries = this.#entries;
    for (const e of entries) {
      this.#grow(e.name, MAX_NAME);
      for (const claim of [e.message, e.header]) this.#grow(claim, FIRST_ROUND);
      this.#grow(e.frames, FIRST_FRAMES);
    }
    for (const e of entries) for (const prop of propsOf(e)) this.#sendShort(prop);
    for (const e of entries) for (const claim of [e.message, e.header, e.frames]) this.#grow(claim, MAX_FIELD);
    for (const e of entries) for (const prop of propsOf(e)) this.#sendLong(prop);
    for (const e of entries) for (const prop of propsOf(e)) this.#grow(prop.sent?.text, MAX_FIELD);
    for (const e of entries) write(e);
  }

  /** Grant `claim` more characters, up to `cap` in all, as far as the budget goes. */
  #grow(claim: Claim | undefined, cap: number): void {
    if (!claim) return;
    const more = Math.max(0, Math.min(Math.min(cap, claim.text.length) - claim.granted, Math.floor(this.#left / claim.weight)));
    claim.granted += more;
    this.#left -= more * claim.weight;
  }

  /** Charge `cost` if the budget has it. */
  #take(cost: number): boolean {
    if (this.#left < cost) return false;
    this.#left -= cost;
    return true;
  }

  /** Send a value that is short once written (true, 404, 'ECONNREFUSED', NaN...) whole, if it fits. */
  #sendShort(prop: Prop): void {
    if (prop.sent) return;
    const cost = prop.key.length + PROP_COST;
    if (sentAsIs(prop.value)) {
      if (this.#take(cost)) prop.sent = {};
      return;
    }
    const text = primitiveText(prop.value);
    if (text === undefined || text.length > SHORT_VALUE || !this.#take(cost + text.length)) return;
    const claim = new Claim(text);
    claim.granted = text.length;
    prop.sent = { text: claim };
  }

  /**
   * Send any other value (a long string, an object) if its name fits: an object is described only
   * now (it takes time), as JSON if that carries it exactly, else as util.inspect shows it.
   */
  #sendLong(prop: Prop): void {
    if (prop.sent || !this.#take(prop.key.length + PROP_COST)) return;
    try {
      const text = primitiveText(prop.value);
      prop.sent = sentAsIs(prop.value) ? {} : text !== undefined ? { text: new Claim(text) } : describeObject(prop.value as object);
    } catch (err) {
      prop.sent = { text: new Claim(`[${prop.key} could not be read: ${describe(err)}]`) }; // this property only: the error keeps the rest
    }
    this.#grow(prop.sent.text, FIRST_ROUND);
  }
}

/** True for an error, and for a value that cannot even be asked whether it is one (`instanceof` runs a Proxy's trap). */
function errorOrUnreadable(value: unknown): boolean {
  try {
    return isError(value);
  } catch {
    return true;
  }
}

/** The text of a name or a message: a string as it is, `fallback` for none; anything else readably, and as it was as the property `key`. */
function textOf<F extends string | undefined>(value: unknown, fallback: F, key: string, props: Prop[]): string | F {
  if (typeof value === 'string') return value;
  if (value === undefined) return fallback;
  props.push({ key, value });
  return readable(value);
}

/** Its own enumerable properties, as many as the budget could hold (a Proxy that cannot list them has none). */
function ownProps(source: object, aggregated = false): Prop[] {
  let keys: string[];
  try {
    keys = Object.keys(source);
  } catch {
    return [];
  }
  const props: Prop[] = [];
  for (const key of keys) {
    if (SKIPPED_PROPS.has(key) || (aggregated && key === 'errors')) continue;
    if (props.length >= MAX_PROPS) break;
    props.push({ key: key.length > MAX_KEY ? key.slice(0, MAX_KEY) : key, value: read(source, key) });
  }
  return props;
}

function propsOf(entry: Entry): Prop[] {
  return entry.cause ? [...entry.props, entry.cause] : entry.props;
}

/** Write the text an entry was granted into its serialized error. */
function write(e: Entry): void {
  e.out.name = e.name.cut();
  e.out.message = e.message.cut();
  if (e.out.stack !== undefined) {
    const header = e.repeats ? errorHeader(e.out.name, e.out.message) : (e.header?.cut() ?? '');
    e.out.stack = e.frames ? `${header}\n${e.frames.cut(true)}` : header;
  }
  for (const prop of e.props) {
    if (prop.sent) (e.out.props ??= Object.create(null) as Record<string, unknown>)[prop.key] = valueOf(prop);
  }
  if (e.cause?.sent) e.out.cause = { value: valueOf(e.cause) };
}

/** What is sent of a property: its value as it is, its JSON parsed back when all of it fit, else its text cut. */
function valueOf(prop: Prop): unknown {
  const text = prop.sent?.text;
  if (!text) return prop.value;
  return prop.sent?.json && text.whole ? (JSON.parse(text.text) as unknown) : text.cut();
}
