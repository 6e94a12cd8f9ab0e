import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, formatFlagHelp, parseDurationMs, parseFlags, type FlagSpec } from '../../bin/flags.ts';

const specs: FlagSpec[] = [
  { name: 'listen', help: 'address', default: '127.0.0.1:10300' },
  { name: 'data-dir', help: 'dir', default: './data' },
  { name: 'api-key', help: 'key' },
  { name: 'verbose', help: 'more output', boolean: true },
];

test('command line beats environment beats default', () => {
  assert.deepEqual(parseFlags([], specs, {}), { listen: '127.0.0.1:10300', 'data-dir': './data', 'api-key': undefined, verbose: undefined });
  assert.equal(parseFlags([], specs, { DATA_DIR: '/var/lib/rs' })['data-dir'], '/var/lib/rs');
  assert.equal(parseFlags(['--data-dir', '/x'], specs, { DATA_DIR: '/var/lib/rs' })['data-dir'], '/x');
  assert.equal(parseFlags(['--data-dir=/y'], specs, {})['data-dir'], '/y');
  assert.equal(parseFlags([], specs, { API_KEY: '' })['api-key'], undefined, 'an empty variable is unset');
  assert.equal(parseFlags(['--verbose'], specs, {}).verbose, 'true');
});

test('bad command lines are FlagErrors that name the problem', () => {
  assert.throws(() => parseFlags(['--nope'], specs, {}), (e: Error) => e instanceof FlagError && /unknown flag --nope/.test(e.message));
  assert.throws(() => parseFlags(['--listen'], specs, {}), /--listen needs a value/);
  assert.throws(() => parseFlags(['stray'], specs, {}), /unexpected argument "stray"/);
});

test('durations', () => {
  assert.equal(parseDurationMs('15s', 'x'), 15_000);
  assert.equal(parseDurationMs('500ms', 'x'), 500);
  assert.equal(parseDurationMs('2m', 'x'), 120_000);
  assert.equal(parseDurationMs('3', 'x'), 3000);
  assert.throws(() => parseDurationMs('soon', 'scrape-interval'), /--scrape-interval: invalid duration "soon"/);
  assert.throws(() => parseDurationMs('0s', 'x'), /must be positive/);
});

test('help lists every flag with its default and environment variable', () => {
  const help = formatFlagHelp(specs);
  for (const s of specs) assert.match(help, new RegExp(`--${s.name}`));
  assert.match(help, /\(default \.\/data\) \[env DATA_DIR\]/);
});
