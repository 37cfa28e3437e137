// A small node:test reporter: one line per test, diagnostics as they come, and a last line
// "N passed, N failed, N skipped" that build scripts and people can read at a glance.
export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:pass' && data.details?.type !== 'suite') {
      if (data.skip !== undefined && data.skip !== false) {
        skipped++;
        yield `- SKIP ${data.name}${typeof data.skip === 'string' ? ` — ${data.skip}` : ''}\n`;
      } else {
        passed++;
        yield `✔ ${data.name} (${Math.round(data.details.duration_ms)} ms)\n`;
      }
    } else if (type === 'test:fail' && data.details?.type !== 'suite') {
      failed++;
      const error = data.details.error;
      const cause = error?.cause ?? error;
      yield `✘ ${data.name}\n    ${String(cause?.stack ?? cause?.message ?? cause).split('\n').join('\n    ')}\n`;
    } else if (type === 'test:diagnostic' && !/^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(data.message)) {
      yield `  · ${data.message}\n`;
    } else if (type === 'test:stdout' || type === 'test:stderr') {
      yield data.message;
    }
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
