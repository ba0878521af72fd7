import { checkStepGraph, resolveStepInput, topologicalOrder } from '../../workflows/contracts/pipeline';

const step = (id: string, depends_on: string[] = [], input: Record<string, unknown> = {}) => ({ id, depends_on, input });

describe('pipeline step graph (pure)', () => {
  it('orders a diamond after its dependencies and accepts references to ancestors', () => {
    const steps = [step('D', ['B', 'C'], { x: '${steps.A.result.ok}' }), step('B', ['A']), step('C', ['A']), step('A')];
    expect(topologicalOrder(steps)).toEqual(['A', 'B', 'C', 'D']);
    expect(checkStepGraph(steps)).toEqual([]);
  });

  it('reports unknown dependencies, duplicates, cycles and references to non-ancestors with their paths', () => {
    expect(checkStepGraph([step('A', ['Z']), step('A')])).toEqual([
      { path: [1, 'id'], message: 'Duplicate step id "A"' },
      { path: [0, 'depends_on', 0], message: 'Unknown step "Z"' },
    ]);
    expect(checkStepGraph([step('A'), step('B', ['C']), step('C', ['B']), step('D', ['C'])])).toEqual([
      { path: [1, 'depends_on'], message: 'Step "B" is on or behind a dependency cycle' },
      { path: [2, 'depends_on'], message: 'Step "C" is on or behind a dependency cycle' },
      { path: [3, 'depends_on'], message: 'Step "D" is on or behind a dependency cycle' },
    ]);
    expect(checkStepGraph([step('A'), step('B', [], { u: 'x ${steps.A.result.y}' })])).toEqual([
      { path: [1, 'input'], message: 'Refers to step "A", which is not among its dependencies (depends_on)' },
    ]);
  });

  it('resolves whole references to values and embedded ones to text, and refuses missing paths', () => {
    const results = { A: { n: 3, o: { k: 'v' }, s: 'str' } };
    expect(
      resolveStepInput({ a: '${steps.A.result.n}', b: ['${steps.A.result.o}'], c: 'n=${steps.A.result.n} o=${steps.A.result.o} s=${steps.A.result.s}', d: 1 }, results),
    ).toEqual({ a: 3, b: [{ k: 'v' }], c: 'n=3 o={"k":"v"} s=str', d: 1 });
    expect(resolveStepInput({ all: '${steps.A.result}' }, results)).toEqual({ all: results.A });
    expect(() => resolveStepInput({ a: '${steps.A.result.missing}' }, results)).toThrow(/has no "missing"/);
    expect(() => resolveStepInput({ a: '${steps.B.result.x}' }, results)).toThrow(/step B has no result/);
  });
});
