// The rules file's schema: what it accepts, and messages that name the line, the table and
// the column, and say what is allowed.
import { describe, expect, it } from 'vitest';
import { parseAnonymiseRules, RulesFileError } from '../../../src/refresh/anonymise-rules.js';
import { type CatalogTable, compareWithCatalog } from '../../../src/refresh/catalog.js';

const problemOf = (text: string) => {
  try {
    parseAnonymiseRules(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RulesFileError);
    return (error as Error).message;
  }
  throw new Error('the rules were accepted');
};

describe('parseAnonymiseRules', () => {
  it('reads every rule, `drop`, and qualifies a table without a schema as public', () => {
    const rules = parseAnonymiseRules(
      'tables:\n  customers:\n    id: keep\n    a: "null"\n    b: fake:email\n    c: fake:name\n    d: fake:phone\n    e: fake:text\n    f: hash\n  sessions: drop\n  billing.invoices:\n    id: keep\n',
    );
    expect(rules).toEqual({
      tables: {
        'public.customers': {
          id: 'keep',
          a: 'null',
          b: 'fake:email',
          c: 'fake:name',
          d: 'fake:phone',
          e: 'fake:text',
          f: 'hash',
        },
        'public.sessions': 'drop',
        'billing.invoices': { id: 'keep' },
      },
    });
  });

  it('names the line, table and column of an unknown rule and lists the allowed ones', () => {
    expect(problemOf('tables:\n  customers:\n    id: keep\n    email: fakee:email\n')).toBe(
      'lugh.anonymise.yml is not a rules file lugh can use: line 4: customers.email: `fakee:email` is not a rule; write one of keep, null, fake:email, fake:name, fake:phone, fake:text, hash',
    );
  });

  it('names the line of bad YAML', () => {
    expect(problemOf('tables:\n  customers: [a\n')).toMatch(
      /^lugh\.anonymise\.yml is not valid YAML: line 3: /,
    );
    expect(problemOf('tables:\n  t:\n    id: keep\n    id: hash\n')).toMatch(
      /line 4: Map keys must be unique/,
    );
  });

  it('says what a table takes, what the file needs, and refuses a table named twice or with no column', () => {
    expect(problemOf('tables:\n  customers: dropp\n')).toMatch(
      /line 2: table customers: write `drop` .* or one rule per column/,
    );
    expect(problemOf('tablez: {}\n')).toMatch(/has no `tables:`; add it/);
    expect(problemOf('tables:\n  customers:\n    id: keep\n  public.customers: drop\n')).toMatch(
      /line 4: table public\.customers: named twice \(as public\.customers\)/,
    );
    expect(problemOf('tables:\n  customers: {}\n')).toMatch(/table customers: lists no column/);
  });

  it('reads a name holding a dot in double quotes, unambiguously, and refuses a bare one', () => {
    const rules = parseAnonymiseRules(
      `tables:\n  '"a.b".people': drop\n  'shop."x.y"': drop\n  '"public".orders': drop\n  '"we ""say"" hi"': drop\n`,
    );
    expect(Object.keys(rules.tables)).toEqual([
      '"a.b".people',
      'shop."x.y"',
      'public.orders',
      'public."we ""say"" hi"',
    ]);
    expect(problemOf('tables:\n  a.b.people: drop\n')).toMatch(
      /line 2: table a\.b\.people: write a table as `table` or `schema\.table` \(a name holding a dot in double quotes: '"a\.b"\.table'\)/,
    );
  });
});

describe('compareWithCatalog', () => {
  const col = (name: string, more: Partial<CatalogTable['columns'][number]> = {}) => ({
    name,
    type: 'text',
    nullable: true,
    unique: false,
    key: false,
    ...more,
  });
  const catalog: CatalogTable[] = [
    {
      schema: 'public',
      table: 'customers',
      name: 'public.customers',
      primaryKey: ['id'],
      referencedBy: ['public.orders'],
      columns: [
        col('id', { type: 'int4', nullable: false, key: true }),
        col('name', { nullable: false }),
        col('age', { type: 'int4' }),
        col('dob'),
      ],
    },
    {
      schema: 'public',
      table: 'orders',
      name: 'public.orders',
      primaryKey: ['id'],
      referencedBy: [],
      columns: [col('id', { type: 'int4' }), col('customer_id', { type: 'int4', key: true })],
    },
  ];

  it('lists every unmentioned table and column, problems with rules, and stale names', () => {
    const rules = parseAnonymiseRules(
      'tables:\n  customers:\n    id: hash\n    name: "null"\n    age: fake:text\n    gone: keep\n  ghosts: drop\n',
    );
    expect(compareWithCatalog(rules, catalog)).toEqual({
      unmentioned: [{ table: 'public.customers', column: 'dob' }, { table: 'public.orders' }],
      problems: [
        'public.customers.id is of type int4, so its rule cannot be `hash` (text or uuid only); use null or keep',
        'public.customers.name is NOT NULL, so its rule cannot be `null`; use fake:text, hash or keep',
        'public.customers.age is of type int4, not text, so its rule cannot be `fake:text`; use null, hash (text or uuid) or keep',
      ],
      stale: ['public.customers.gone', 'public.ghosts'],
    });
  });

  it('allows only keep on a generated column (Postgres computes it again)', () => {
    const generated: CatalogTable[] = [
      {
        schema: 'public',
        table: 't',
        name: 'public.t',
        primaryKey: [],
        referencedBy: [],
        columns: [col('email'), col('email_lower', { generated: true })],
      },
    ];
    const rules = parseAnonymiseRules('tables:\n  t:\n    email: fake:email\n    email_lower: fake:email\n');
    expect(compareWithCatalog(rules, generated).problems).toEqual([
      'public.t.email_lower is generated from other columns (Postgres computes it again from their rewritten values), so its rule must be keep',
    ]);
  });

  it('refuses dropping a table a kept table refers to', () => {
    const rules = parseAnonymiseRules(
      'tables:\n  customers: drop\n  orders:\n    id: keep\n    customer_id: keep\n',
    );
    expect(compareWithCatalog(rules, catalog).problems).toEqual([
      "public.customers is dropped but public.orders refers to it; drop it too, or give public.customers's columns rules",
    ]);
  });
});
