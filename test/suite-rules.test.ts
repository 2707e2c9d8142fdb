// Rules the suite keeps about itself, checked on its own source by the
// TypeScript parser (typescript/unstable/sync: TypeScript 7's API, which
// asks the compiler's own process for each file's syntax tree).
//
// No describe()/suite() callback may be async or return a value. node:test
// builds a suite by calling its callback; when that callback awaits and then
// throws (a skipUnlessPostgres() that refuses under CI=true, say), the suite
// is printed with ✖ but the summary says `fail 0`, and only the exit code
// tells. Skips are computed at the top level with await instead.
import assert from 'node:assert/strict';
import { globSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { SyntaxKind, type Node, type SourceFile } from 'typescript/unstable/ast';
import { isArrowFunction, isBlock, isCallExpression, isFunctionExpression, isIdentifier, isObjectLiteralExpression, isPropertyAccessExpression, isReturnStatement, isStringLiteralLikeNode, isTemplateExpression, isVoidExpression } from 'typescript/unstable/ast/is';
import { API } from 'typescript/unstable/sync';

const root = resolve(import.meta.dirname, '..');
// eachDatabase (test/support/databases.ts) declares suites the same way: its
// callback must be as synchronous as a describe's (an async one would declare
// them after node:test has started running the file).
const suiteFunctions = new Set(['describe', 'suite', 'eachDatabase']);

type Finding = { file: string; line: number; problem: string };

/** describe / suite / describe.skip / suite.only …: the name of the suite function called, or undefined. */
function suiteCallee(node: Node): string | undefined {
  if (!isCallExpression(node)) return undefined;
  const callee = node.expression;
  if (isIdentifier(callee) && suiteFunctions.has(callee.text)) return callee.text;
  if (isPropertyAccessExpression(callee) && isIdentifier(callee.expression) && suiteFunctions.has(callee.expression.text)) return `${callee.expression.text}.${callee.name.text}`;
  return undefined;
}

/** True when `body` has a `return <value>` of its own (nested functions and classes have their own returns). */
function returnsValue(body: Node): boolean {
  let found = false;
  const visit = (node: Node): undefined => {
    if (found) return undefined;
    if (isReturnStatement(node) && node.expression !== undefined) found = true;
    else if (!isFunctionLike(node)) node.forEachChild(visit);
    return undefined;
  };
  body.forEachChild(visit);
  return found;
}

function isFunctionLike(node: Node): boolean {
  return [SyntaxKind.ArrowFunction, SyntaxKind.FunctionExpression, SyntaxKind.FunctionDeclaration, SyntaxKind.MethodDeclaration,
    SyntaxKind.GetAccessor, SyntaxKind.SetAccessor, SyntaxKind.Constructor, SyntaxKind.ClassDeclaration, SyntaxKind.ClassExpression].includes(node.kind);
}

/** What is wrong with the callback (the last argument) of one describe()/suite() call, if anything. */
function callbackProblem(call: Node & { arguments: readonly Node[] }): string | undefined {
  const callback = call.arguments.at(-1);
  // describe('name') / describe('name', { skip }) without a body is allowed (a todo suite).
  if (callback === undefined || isStringLiteralLikeNode(callback) || isTemplateExpression(callback) || isObjectLiteralExpression(callback)) return undefined;
  if (!isArrowFunction(callback) && !isFunctionExpression(callback)) return 'its callback is not written inline, so this rule cannot see whether it is async';
  if (callback.modifiers?.some((modifier) => modifier.kind === SyntaxKind.AsyncKeyword)) return 'its callback is async';
  if (isFunctionExpression(callback) && callback.asteriskToken !== undefined) return 'its callback is a generator';
  if (isArrowFunction(callback) && !isBlock(callback.body)) return isVoidExpression(callback.body) ? undefined : 'its callback returns a value (an arrow without braces)';
  if (callback.body !== undefined && returnsValue(callback.body)) return 'its callback returns a value';
  return undefined;
}

function findingsIn(sourceFile: SourceFile, file: string): { calls: number; findings: Finding[] } {
  const findings: Finding[] = [];
  let calls = 0;
  const visit = (node: Node): undefined => {
    const callee = suiteCallee(node);
    if (callee !== undefined && isCallExpression(node)) {
      calls += 1;
      const problem = callbackProblem(node);
      const line = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
      if (problem !== undefined) findings.push({ file, line, problem: `${callee}(): ${problem}` });
    }
    node.forEachChild(visit);
    return undefined;
  };
  sourceFile.forEachChild(visit);
  return { calls, findings };
}

/** Parses `files` (absolute paths, all in the project of `tsconfig`) and checks every describe()/suite() in them. */
function checkSuiteCallbacks(tsconfig: string, files: string[]): { calls: number; findings: Finding[] } {
  const api = new API({ cwd: resolve(tsconfig, '..') });
  try {
    const project = api.updateSnapshot({ openProject: tsconfig }).getProjects()[0];
    assert.ok(project !== undefined, `no project for ${tsconfig}`);
    let calls = 0;
    const findings: Finding[] = [];
    for (const file of files) {
      const sourceFile = project.program.getSourceFile(file);
      // A test file outside tsconfig's "include" would escape the rule (and the type check): that fails too.
      assert.ok(sourceFile !== undefined, `${relative(root, file)} is not in ${relative(root, tsconfig)}'s program`);
      const found = findingsIn(sourceFile, relative(resolve(tsconfig, '..'), file));
      calls += found.calls;
      findings.push(...found.findings);
    }
    return { calls, findings };
  } finally {
    api.close();
  }
}

function formatted(findings: Finding[]): string[] {
  return findings.map((finding) => `${finding.file}:${finding.line}: ${finding.problem}`);
}

describe('the suite keeps its own rules', () => {
  test('no describe()/suite() callback in test/**/*.test.ts or src/**/*.test.ts is async or returns a value', () => {
    const files = globSync(['test/**/*.test.ts', 'src/**/*.test.ts'], { cwd: root }).map((file) => join(root, file)).sort();
    assert.ok(files.length >= 20, `found only ${files.length} test files`);
    const { calls, findings } = checkSuiteCallbacks(join(root, 'tsconfig.json'), files);
    // A parser that saw nothing would find nothing wrong: the suite has dozens of describe() calls.
    assert.ok(calls >= 30, `saw only ${calls} describe()/suite() calls in ${files.length} files`);
    assert.deepEqual(formatted(findings), [], 'compute skips at the top level with await; a describe callback only declares tests and hooks');
  });

  test('the rule itself finds each forbidden form, at its line, and passes the allowed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-suite-rules-'));
    try {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { noEmit: true, allowImportingTsExtensions: true, module: 'nodenext', types: [] }, include: ['*.ts'] }));
      const fixture = join(dir, 'fixture.test.ts');
      writeFileSync(fixture, [
        "import { describe, suite, test } from 'node:test';",
        "describe('async arrow', async () => {});",
        "suite('async function', async function () {});",
        "describe.skip('async, skipped', { skip: true }, async () => {});",
        "describe('concise arrow returning the test promise', () => test('x', () => {}));",
        "describe('returns a promise', () => { return Promise.resolve(); });",
        'const body = () => {};',
        "describe('not inline', body);",
        "describe('fine', () => { test('x', () => {}); const f = () => { return 1; }; });",
        "describe('fine too', function () { test('y', async () => { return 1; }); });",
        "describe('void is fine', () => void test('z', () => {}));",
        "describe('no body');",
        "test('a test may be async', async () => {});",
        'declare function eachDatabase(declare: (kind: string, skip: false | string) => void): void;',
        "eachDatabase(async (kind) => { describe(kind, () => {}); });",
        "eachDatabase((kind, skip) => { describe(kind, { skip }, () => {}); });",
        '',
      ].join('\n'));
      const { calls, findings } = checkSuiteCallbacks(join(dir, 'tsconfig.json'), [fixture]);
      assert.equal(calls, 14);
      assert.deepEqual(formatted(findings), [
        'fixture.test.ts:2: describe(): its callback is async',
        'fixture.test.ts:3: suite(): its callback is async',
        'fixture.test.ts:4: describe.skip(): its callback is async',
        'fixture.test.ts:5: describe(): its callback returns a value (an arrow without braces)',
        'fixture.test.ts:6: describe(): its callback returns a value',
        'fixture.test.ts:8: describe(): its callback is not written inline, so this rule cannot see whether it is async',
        'fixture.test.ts:15: eachDatabase(): its callback is async',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
