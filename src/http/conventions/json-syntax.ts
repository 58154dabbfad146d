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
    const before = text.slice(0, error.offset);
    const line = before.split('\n').length;
    return { message: error.message, offset: error.offset, line, column: error.offset - before.lastIndexOf('\n') };
  }
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
