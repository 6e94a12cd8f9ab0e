// Which selectors of a query are read from storage and which are filtered from another's read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelMatcher } from '../src/metrics/label-matcher.ts';
import { planReads, type SelectorRequest } from '../src/metrics/engine/selector-plan.ts';

const name = (v: string): LabelMatcher => ({ name: '__name__', type: '=', value: v });
const req = (id: string, matchers: LabelMatcher[], fromMs = 0, toMs = 100): SelectorRequest<string> => ({ selector: id, matchers, fromMs, toMs });

describe('planReads', () => {
  it('reads the wider selector once and filters the narrower one from it', () => {
    const wide = req('total', [name('x')]);
    const narrow = req('errors', [name('x'), { name: 'status', type: '=~', value: '5..' }]);
    const plan = planReads([narrow, wide]);
    assert.equal(plan[1]!.kind, 'read');
    const p = plan[0]!;
    assert.equal(p.kind, 'filter');
    if (p.kind !== 'filter') return;
    assert.equal(p.from, wide);
    assert.equal(p.keep({ __name__: 'x', status: '503' }), true);
    assert.equal(p.keep({ __name__: 'x', status: '200' }), false);
    assert.equal(p.keep({ __name__: 'x' }), false, 'a missing label is the empty string');
  });

  it('identical selectors share one read', () => {
    const a = req('a', [name('x'), { name: 'job', type: '!=', value: '' }]);
    const b = req('b', [{ name: 'job', type: '!=', value: '' }, name('x')]);
    const plan = planReads([a, b]);
    assert.deepEqual(plan.map((p) => p.kind), ['read', 'filter']);
    assert.equal(plan[1]!.kind === 'filter' && plan[1]!.keep({ job: '' }), true, 'nothing extra to check');
  });

  it('a repeated narrow selector filters from the same read as its first occurrence', () => {
    const narrow1 = req('n1', [name('x'), { name: 'a', type: '=', value: '1' }]);
    const narrow2 = req('n2', [name('x'), { name: 'a', type: '=', value: '1' }]);
    const wide = req('w', [name('x')]);
    const plan = planReads([narrow1, narrow2, wide]);
    assert.deepEqual(plan.map((p) => p.kind), ['filter', 'filter', 'read']);
    for (const p of plan.slice(0, 2)) {
      assert.ok(p.kind === 'filter');
      assert.equal(p.from, wide, 'every filter reads from a request that is itself read');
      assert.equal(p.keep({ a: '2' }), false);
    }
  });

  it('reads separately what JavaScript cannot evaluate exactly like ClickHouse, or another time span', () => {
    const wide = req('w', [name('x')]);
    const escaped = req('e', [name('x'), { name: 'path', type: '=~', value: '/api/\\d+' }]);
    const classes = req('c', [name('x'), { name: 'code', type: '=~', value: '[45]..' }]);
    const later = req('l', [name('x'), { name: 'code', type: '=', value: '200' }], 50, 150);
    assert.deepEqual(planReads([wide, escaped, classes, later]).map((p) => p.kind), ['read', 'read', 'read', 'read']);
  });

  it('filters from the closest wider read, and . matches a newline as in ClickHouse', () => {
    const base = req('b', [name('x')]);
    const mid = req('m', [name('x'), { name: 'a', type: '=', value: '1' }]);
    const narrow = req('n', [name('x'), { name: 'a', type: '=', value: '1' }, { name: 'b', type: '!~', value: 'x.y' }]);
    const plan = planReads([base, mid, narrow]);
    assert.deepEqual(plan.map((p) => p.kind), ['read', 'filter', 'filter']);
    const p = plan[2]!;
    assert.ok(p.kind === 'filter');
    assert.equal(p.from, base);
    assert.equal(p.keep({ a: '1', b: 'x\ny' }), false);
    assert.equal(p.keep({ a: '1', b: 'xy' }), true);
    assert.equal(p.keep({ a: '2', b: 'xy' }), false);
  });
});
