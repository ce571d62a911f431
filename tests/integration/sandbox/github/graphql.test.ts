// The GitHub stand-in's POST /graphql against GitHub's published schema (@octokit/graphql-schema):
// every type and field it declares exists there with the same type, the query lugh sends is
// valid against the whole real schema, and the answers agree with the REST reads of the same state.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { schema as githubSchema } from '@octokit/graphql-schema';
import {
  buildClientSchema,
  buildSchema,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  parse,
  validate,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../../src/forge/errors.js';
import { PULL_SNAPSHOT_QUERY } from '../../../../src/forge/github/pull-snapshot.js';
import { STAND_IN_GRAPHQL_SDL } from '../../../../src/sandbox/github/graphql.js';
import { startSeededGitHub } from '../../../helpers/seeded-github.js';
import { octokitFor, repoParams } from './fixture.js';

const real: GraphQLSchema = buildClientSchema(githubSchema.json as never);
const ours: GraphQLSchema = buildSchema(STAND_IN_GRAPHQL_SDL);

/** What the stand-in declares of `type` that GitHub's schema lacks or types otherwise. */
function differences(type: GraphQLNamedType): string[] {
  const theirs = real.getType(type.name);
  if (!theirs) return [`${type.name}: no such type`];
  if (theirs.constructor !== type.constructor) return [`${type.name}: another kind of type`];
  if (isEnumType(type) && isEnumType(theirs)) {
    const values = new Set(theirs.getValues().map((v) => v.name));
    return type
      .getValues()
      .filter((v) => !values.has(v.name))
      .map((v) => `${type.name}.${v.name}: no such value`);
  }
  if (isUnionType(type) && isUnionType(theirs)) {
    const members = new Set(theirs.getTypes().map((t) => t.name));
    return type
      .getTypes()
      .filter((t) => !members.has(t.name))
      .map((t) => `${type.name} | ${t.name}: not a member`);
  }
  if ((isObjectType(type) || isInterfaceType(type)) && (isObjectType(theirs) || isInterfaceType(theirs))) {
    const problems: string[] = [];
    const fields = theirs.getFields();
    for (const field of Object.values(type.getFields())) {
      const other = fields[field.name];
      if (!other) {
        problems.push(`${type.name}.${field.name}: no such field`);
        continue;
      }
      if (String(other.type) !== String(field.type))
        problems.push(`${type.name}.${field.name}: ${field.type}, GitHub's ${other.type}`);
      for (const arg of field.args) {
        const theirArg = other.args.find((a) => a.name === arg.name);
        if (!theirArg || String(theirArg.type) !== String(arg.type))
          problems.push(`${type.name}.${field.name}(${arg.name}): ${arg.type}, GitHub's ${theirArg?.type}`);
      }
    }
    if (isObjectType(type) && isObjectType(theirs)) {
      const interfaces = new Set(theirs.getInterfaces().map((i) => i.name));
      for (const i of type.getInterfaces())
        if (!interfaces.has(i.name)) problems.push(`${type.name} implements ${i.name}: not on GitHub`);
    }
    return problems;
  }
  if (isScalarType(type) || isInputObjectType(type)) return [];
  return [];
}

describe("the stand-in GraphQL schema against GitHub's (@octokit/graphql-schema)", () => {
  it("declares only GitHub's types, fields, arguments, enum values and union members, typed as GitHub types them", () => {
    const declared = Object.values(ours.getTypeMap()).filter((t) => !t.name.startsWith('__'));
    expect(declared.map((t) => t.name)).toContain('PullRequest');
    expect(declared.flatMap(differences)).toEqual([]);
  });

  it("the query lugh sends is valid against the whole of GitHub's schema, and against the stand-in's", () => {
    expect(validate(real, parse(PULL_SNAPSHOT_QUERY)).map((e) => e.message)).toEqual([]);
    expect(validate(ours, parse(PULL_SNAPSHOT_QUERY)).map((e) => e.message)).toEqual([]);
  });

  it('catches a field GitHub does not have (the check itself can fail)', () => {
    const wrong = buildSchema(`type Query { repository(owner: String!, name: String!): Repository }
      type Repository { pullRequest(number: Int!): PullRequest }
      type PullRequest { number: String!  mergeability: Boolean }`);
    const problems = Object.values(wrong.getTypeMap())
      .filter((t) => !t.name.startsWith('__') && !['String', 'Boolean', 'Int'].includes(t.name))
      .flatMap(differences);
    expect(problems).toContain("PullRequest.number: String!, GitHub's Int!");
    expect(problems).toContain('PullRequest.mergeability: no such field');
  });
});

type Seeded = Awaited<ReturnType<typeof startSeededGitHub>>;

describe('the stand-in POST /graphql', () => {
  let github: Seeded;
  let number: number;

  beforeAll(async () => {
    github = await startSeededGitHub('ghs_sandboxtoken');
    const sha = github.seeded.developSha;
    await github.gh.setCheckPlan(sha, [
      { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 3_600_000 },
      { name: 'ci/legacy', kind: 'status', conclusion: 'failure', afterMs: 3_600_000 },
    ]);
    await github.gh.completeCheck(sha, 'ci/legacy', 'failure');
    const octokit = octokitFor(github.gh);
    const { data } = await octokit.rest.pulls.create({
      ...repoParams,
      base: 'main',
      head: 'develop',
      title: 't',
    });
    number = data.number;
  });

  afterAll(async () => {
    await github.gh.close();
    await rm(path.dirname(github.repoDir), { recursive: true, force: true });
  });

  it('reads the pull request and its CI in one request that costs one point, agreeing with the REST reads', async () => {
    const before = github.gh.requests().length;
    const snapshot = await github.forge.pullWithCi(number);
    const made = github.gh.requests().slice(before);
    expect(made.map((r) => `${r.method} ${r.path} ${r.status} ${r.charged}`)).toEqual([
      'POST /graphql 200 true',
    ]);

    const [pull, ci] = [await github.forge.pull(number), await github.forge.ciState(snapshot.pull.headSha)];
    expect(snapshot.ci).toEqual(ci);
    expect(snapshot.ci.checks.map((c) => [c.name, c.kind, c.state])).toEqual([
      ['build', 'check_run', 'pending'],
      ['ci/legacy', 'status', 'failure'],
    ]);
    const { mergeable: _m, mergeableState: _s, ...rest } = snapshot.pull;
    const { mergeable: _m2, mergeableState: _s2, ...restRest } = pull;
    expect(rest).toEqual(restRest);
  });

  it('asking for mergeable starts GitHub computing it: a later read knows it', async () => {
    const octokit = octokitFor(github.gh);
    const ask = () =>
      octokit.graphql<{ repository: { pullRequest: { mergeable: string; mergeStateStatus: string } } }>(
        'query($n: Int!) { repository(owner: "acme", name: "app") { pullRequest(number: $n) { mergeable mergeStateStatus } } }',
        { n: number },
      );
    await ask();
    let answer = await ask();
    for (let i = 0; i < 50 && answer.repository.pullRequest.mergeable === 'UNKNOWN'; i++)
      answer = await ask();
    expect(answer.repository.pullRequest.mergeable).toBe('MERGEABLE');
    // A red status: GitHub says unstable, as REST's mergeable_state does.
    expect(answer.repository.pullRequest.mergeStateStatus).toBe('UNSTABLE');
  });

  it('answers a query the schema refuses with 200, errors and no data; a missing pull request with NOT_FOUND', async () => {
    const post = (body: unknown, token: string | undefined = 'ghs_sandboxtoken') =>
      fetch(`${github.gh.apiUrl}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const bad = await post({ query: '{ repository(owner: "acme", name: "app") { nope } }' });
    expect(bad.status).toBe(200);
    const badJson = (await bad.json()) as { data?: unknown; errors: Array<{ message: string }> };
    expect(badJson.data).toBeUndefined();
    expect(badJson.errors[0]!.message).toContain('Cannot query field "nope" on type "Repository"');

    const missing = await post({
      query: '{ repository(owner: "acme", name: "app") { pullRequest(number: 999) { number } } }',
    });
    const missingJson = (await missing.json()) as {
      data: unknown;
      errors: Array<{ type: string; path: string[] }>;
    };
    expect(missing.status).toBe(200);
    expect(missingJson.data).toEqual({ repository: { pullRequest: null } });
    expect(missingJson.errors[0]).toMatchObject({ type: 'NOT_FOUND', path: ['repository', 'pullRequest'] });
    await expect(github.forge.pullWithCi(999)).rejects.toBeInstanceOf(NotFoundError);

    const anonymous = await post({ query: '{ repository(owner: "acme", name: "app") { name } }' }, '');
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toBe(
      'This endpoint requires you to be authenticated.',
    );
  });

  it('a check run id past 2^31 cannot be answered as CheckRun.databaseId (Int): the field errs, which is why lugh does not ask for it', async () => {
    const octokit = octokitFor(github.gh);
    const query = `query($n: Int!) { repository(owner: "acme", name: "app") { pullRequest(number: $n) {
      commits(last: 1) { nodes { commit { statusCheckRollup { contexts(first: 10) { nodes {
        ... on CheckRun { databaseId } } } } } } } } } }`;
    await expect(octokit.graphql(query, { n: number })).rejects.toMatchObject({
      errors: [{ message: expect.stringContaining('Int cannot represent non 32-bit signed integer value') }],
    });
  });

  it('refuses a connection without first or last, as GitHub does', async () => {
    const octokit = octokitFor(github.gh);
    await expect(
      octokit.graphql(
        'query($n: Int!) { repository(owner: "acme", name: "app") { pullRequest(number: $n) { commits { totalCount } } } }',
        { n: number },
      ),
    ).rejects.toMatchObject({
      errors: [
        {
          message:
            'You must provide a `first` or `last` value to properly paginate the `commits` connection.',
        },
      ],
    });
  });
});
