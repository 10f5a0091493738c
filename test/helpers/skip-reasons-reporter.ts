/**
 * A vitest reporter that ends the run with one line per suite skipped for a stated reason, so a
 * skip is explained in the summary itself and not only in a warning scrolled far above it
 * (issue 16 item 12). A suite states its reason in its title, ` [skipped: why]` (see
 * CHROMIUM_SKIP_REASON in test/browser/harness.ts). Use beside the default reporter.
 */
import type { Reporter, TestModule } from 'vitest/node';

const REASON = /\[skipped: ([^\]]+)\]/;

export default class SkipReasonsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const reasons = new Map<string, Set<string>>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        if (test.result().state !== 'skipped') continue;
        const why = REASON.exec(test.fullName);
        if (!why) continue;
        const files = reasons.get(why[1]!) ?? new Set<string>();
        files.add(module.moduleId.replace(`${process.cwd()}/`, ''));
        reasons.set(why[1]!, files);
      }
    }
    for (const [why, files] of reasons) {
      process.stdout.write(`\n SKIPPED ${[...files].join(', ')}: ${why}\n`);
    }
  }
}
