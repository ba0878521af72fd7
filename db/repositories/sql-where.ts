/**
 * A WHERE clause under construction: conditions are ANDed and every value is bound as a parameter. Each repository's
 * filter extends it with its table's scope (brand, live rows) and its own helpers.
 */
export class SqlWhere {
  readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  add(condition: string, ...params: unknown[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `column in (…)`; an empty list matches nothing. */
  in(column: string, values: readonly unknown[]): this {
    return values.length ? this.add(`${column} in (${values.map(() => '?').join(', ')})`, ...values) : this.add('false');
  }

  get sql(): string {
    return this.conditions.length ? this.conditions.join(' and ') : 'true';
  }
}
