/**
 * Where a JSON text breaks, and why, in the words Python's json module (and so DRF) uses:
 * Node's JSON.parse names no position for some mistakes (`Unexpected token`, `Unexpected
 * end`). Only called once JSON.parse has refused the text. Iterative: a body may nest deeply.
 */
export interface JsonSyntaxError {
  message: string;
  /** Offset of the mistake in the text (characters). */
  offset: number;
  line: number;
  column: number;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

class Broken {
  constructor(readonly message: string, readonly offset: number) {}
}

export function locateJsonSyntaxError(text: string): JsonSyntaxError | null {
  try {
    scan(text);
    return null;
  } catch (error) {
    if (!(error instanceof Broken)) throw error;
    return located(text, error);
  }
}

function located(text: string, error: Broken): JsonSyntaxError {
  const before = text.slice(0, error.offset);
  const line = before.split('\n').length;
  return { message: error.message, offset: error.offset, line, column: error.offset - before.lastIndexOf('\n') };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);

/**
 * Where a JSON text opens its `maxDepth + 1`th nested array or object, or null when it stays
 * within `maxDepth`. Everything that walks a parsed body (schema validation, fingerprints,
 * serialization) recurses, so a body nested without bound would exhaust the stack: it is
 * refused before it is parsed. One pass over the text, strings skipped.
 */
export function locateExcessiveNesting(text: string, maxDepth: number): JsonSyntaxError | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (OPENERS.has(c)) {
      if (++depth > maxDepth) return located(text, new Broken(`Nested deeper than ${maxDepth} levels at`, i));
    } else if (CLOSERS.has(c)) depth--;
  }
  return null;
}

function scan(text: string): void {
  let i = 0;
  const skipWhitespace = () => {
    while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  };
  const string = () => {
    const start = i++;
    for (;;) {
      if (i >= text.length) throw new Broken('Unterminated string starting at', start);
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c === '\\') {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) throw new Broken('Invalid \\escape', i);
        i = ESCAPE.lastIndex;
      } else if (c < ' ') {
        throw new Broken('Invalid control character at', i);
      } else i++;
    }
  };
  // Open containers, innermost last: '}' for objects, ']' for arrays.
  const open: string[] = [];
  let expectValue = true;
  for (;;) {
    skipWhitespace();
    if (expectValue) {
      const c = text[i];
      if (c === '{') {
        i++;
        skipWhitespace();
        if (text[i] === '}') {
          i++;
          expectValue = false;
          continue;
        }
        open.push('}');
        if (text[i] !== '"') throw new Broken('Expecting property name enclosed in double quotes', i);
        string();
        skipWhitespace();
        if (text[i] !== ':') throw new Broken("Expecting ':' delimiter", i);
        i++;
        continue;
      }
      if (c === '[') {
        i++;
        skipWhitespace();
        if (text[i] === ']') {
          i++;
          expectValue = false;
          continue;
        }
        open.push(']');
        continue;
      }
      if (c === '"') string();
      else {
        LITERAL.lastIndex = i;
        if (!LITERAL.test(text)) throw new Broken('Expecting value', i);
        i = LITERAL.lastIndex;
      }
      expectValue = false;
      continue;
    }
    const closing = open.at(-1);
    if (closing === undefined) {
      if (i < text.length) throw new Broken('Extra data', i);
      return;
    }
    if (text[i] === closing) {
      i++;
      open.pop();
      continue;
    }
    if (text[i] !== ',') throw new Broken("Expecting ',' delimiter", i);
    i++;
    if (closing === '}') {
      skipWhitespace();
      if (text[i] !== '"') throw new Broken('Expecting property name enclosed in double quotes', i);
      string();
      skipWhitespace();
      if (text[i] !== ':') throw new Broken("Expecting ':' delimiter", i);
      i++;
    }
    expectValue = true;
  }
}
