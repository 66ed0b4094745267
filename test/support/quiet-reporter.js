// The jest reporter of `npm test` (jest.config.js), before jest's own `summary` reporter: passing suites stay
// quiet (the default reporter prints every suite's console output, 600+ lines), a failing suite prints its
// console output (the per-tensor comparison tables) and its failures as it ends, and at the end come the
// skipped tests with their reasons and the failed files. jest's summary reporter then ends with the usual
// `Test Suites: ...`, `Tests: ...` lines. For jest's full output: npx jest --reporters=default.
'use strict';
const path = require('node:path');

class QuietReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    // With -t PATTERN the tests it leaves out count as skipped too: list only those that match it.
    this.namePattern = globalConfig.testNamePattern ? new RegExp(globalConfig.testNamePattern, 'i') : null;
    this.skipped = []; // "file: title" of each skipped test
    this.notes = new Map(); // console warnings that say why something was skipped -> the first file to print it
    this.failed = []; // files with a failing test, or that failed to run
  }

  log(text) {
    process.stderr.write(`${text}\n`);
  }

  onRunStart(results) {
    const n = results.numTotalTestSuites;
    this.log(`jest: ${n} test ${n === 1 ? 'file' : 'files'}; passing ones are quiet (every line: npx jest --reporters=default)`);
  }

  onTestResult(test, result) {
    const file = path.relative(this.rootDir, result.testFilePath);
    for (const entry of result.console ?? []) {
      if (entry.type === 'warn' && /skip/i.test(entry.message) && !this.notes.has(entry.message)) this.notes.set(entry.message, file);
    }
    for (const assertion of result.testResults) {
      if (!['pending', 'skipped', 'todo'].includes(assertion.status)) continue;
      if (this.namePattern === null || this.namePattern.test(assertion.fullName)) this.skipped.push(`${file}: ${assertion.fullName}`);
    }
    if (result.numFailingTests === 0 && !result.testExecError) return;
    this.failed.push(file);
    this.log(`\nFAIL ${file}`);
    for (const entry of result.console ?? []) this.log(indent(`console.${entry.type}: ${entry.message}`));
    if (result.failureMessage) this.log(result.failureMessage);
  }

  onRunComplete() {
    if (this.skipped.length + this.notes.size > 0) {
      const count = this.skipped.length;
      this.log(`\nSkipped, and why (${count} ${count === 1 ? 'test' : 'tests'}):`);
      for (const [message, file] of this.notes) this.log(indent(`${file}: ${message}`));
      for (const line of this.skipped) this.log(indent(line));
    }
    if (this.failed.length > 0) this.log(`\nFailed (details above): ${this.failed.join(', ')}`);
  }
}

const indent = (text) => text.replace(/^/gm, '  ');

module.exports = QuietReporter;
