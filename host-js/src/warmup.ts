// A first compression is several times slower than later ones: V8 runs new wasm and JS in its
// baseline tiers until they are hot, and the tokenizer's regex and merge paths are cold. Loading
// the engine therefore runs it once over a small mixed sample (logs, JSON, search results, code,
// prose), so a caller's first real call runs on optimised code.

function sample(): string {
  const parts: string[] = [];
  for (let i = 0; i < 60; i++) {
    parts.push(`2024-05-01T10:${String(i % 60).padStart(2, '0')}:00.${i}Z INFO worker-${i % 4} handled job ${i * 37} in ${i % 9}ms`);
  }
  parts.push('2024-05-01T10:59:59Z ERROR worker-2 job 401 failed: connection timeout to db:5432');
  parts.push(JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ['a', 'b'], ok: i % 3 === 0 }))));
  for (let i = 0; i < 40; i++) parts.push(`src/pkg_${i % 5}/mod_${i}.py:${i * 7 + 1}:    value = compute_${i}(alpha, beta)  # step ${i}`);
  for (let i = 0; i < 20; i++) parts.push(`def handler_${i}(request, *args, **kwargs):\n    """Handle ${i}."""\n    return {'status': ${200 + i}, 'body': request.body[:${i}]}\n`);
  parts.push('Die Größe ändert sich — 日本語のテキスト, émojis 🙂 and numbers 1234567890.');
  return parts.join('\n');
}

/** Run the engine over the sample through `run` (errors are the caller's first call's to report). */
export function warmUp(run: (text: string) => unknown): void {
  try {
    run(sample());
  } catch {
    // The warm-up only speeds things up; a real call reports any fault.
  }
}
