// A small node:test reporter: one line per test, diagnostics as they come, and a last line
// "N passed, N failed, N skipped" that build scripts and people can read at a glance.
export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  // Count tests, not the file that holds them: some Node versions report the file as a test of its
  // own at nesting 0 (named by its path), while Node 20 reports the tests themselves at nesting 0.
  const isFile = (data) => Boolean(data.file) && (data.name === data.file || data.file.endsWith(String(data.name)));
  for await (const { type, data } of source) {
    if (type === 'test:pass' && data.details?.type !== 'suite' && !isFile(data)) {
      if (data.skip !== undefined && data.skip !== false) {
        skipped++;
        yield `- SKIP ${data.name}${typeof data.skip === 'string' ? ` — ${data.skip}` : ''}\n`;
      } else {
        passed++;
        yield `✔ ${data.name} (${Math.round(data.details.duration_ms)} ms)\n`;
      }
    } else if (type === 'test:fail' && data.details?.type !== 'suite' && !isFile(data)) {
      failed++;
      const cause = data.details.error?.cause ?? data.details.error;
      yield `✘ ${data.name}\n    ${String(cause?.stack ?? cause?.message ?? cause).split('\n').join('\n    ')}\n`;
    } else if (type === 'test:diagnostic' && data.file) {
      yield `  · ${data.message}\n`;
    } else if (type === 'test:stdout' || type === 'test:stderr') {
      yield data.message;
    }
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
