// Splits a PromQL string into tokens. Positions are kept so errors can point at the input.

export type TokenKind = 'ident' | 'number' | 'duration' | 'string' | 'op' | 'eof';
export interface Token { kind: TokenKind; text: string; pos: number }

export class PromqlSyntaxError extends Error {
  constructor(message: string, readonly pos: number) {
    super(`parse error at char ${pos + 1}: ${message}`);
    this.name = 'PromqlSyntaxError';
  }
}

const ops = ['=~', '!~', '!=', '==', '{', '}', '(', ')', '[', ']', ',', '=', '+', '-', '*', '/'];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue; }
    const start = i;
    if (/[A-Za-z_:]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_:]/.test(src[i]!)) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // A duration (5m, 1h30m) starts like a number; decide by what follows the digits.
      const dur = /^\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*/.exec(src.slice(i));
      if (dur && !/[A-Za-z0-9_]/.test(src[i + dur[0].length] ?? '')) {
        i += dur[0].length;
        out.push({ kind: 'duration', text: dur[0], pos: start });
        continue;
      }
      const num = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
      if (!num) throw new PromqlSyntaxError(`unexpected character '${c}'`, i);
      i += num[0].length;
      out.push({ kind: 'number', text: num[0], pos: start });
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      out.push({ kind: 'string', text: readString(src, i), pos: start });
      i = skipString(src, i);
      continue;
    }
    const op = ops.find((o) => src.startsWith(o, i));
    if (!op) throw new PromqlSyntaxError(`unexpected character '${c}'`, i);
    out.push({ kind: 'op', text: op, pos: start });
    i += op.length;
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

function skipString(src: string, start: number): number {
  const q = src[start]!;
  let i = start + 1;
  while (i < src.length && src[i] !== q) {
    if (src[i] === '\\' && q !== '`') i++;
    if (src[i] === '\n' && q !== '`') break;
    i++;
  }
  if (i >= src.length || src[i] !== q) throw new PromqlSyntaxError('unterminated quoted string', start);
  return i + 1;
}

/** Decodes a Go-style string literal: backquotes are raw, the others take escapes. */
function readString(src: string, start: number): string {
  const q = src[start]!;
  const end = skipString(src, start) - 1;
  const body = src.slice(start + 1, end);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { out += c; continue; }
    const n = body[++i];
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x': case 'u': case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new PromqlSyntaxError(`invalid escape \\${n}${hex}`, start + 1 + i);
        out += String.fromCodePoint(parseInt(hex, 16));
        i += len;
        break;
      }
      default: throw new PromqlSyntaxError(`unknown escape sequence \\${n ?? ''}`, start + 1 + i);
    }
  }
  return out;
}
