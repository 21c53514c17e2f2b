import { describe, expect, it } from 'vitest';
import { runProbe, subprocessCount } from '../../fleet/exec.js';

describe('runProbe', () => {
  it('collects stdout, counts the subprocess', async () => {
    const before = subprocessCount();
    const r = await runProbe('sh', ['-c', 'printf "a\\nb"; printf oops >&2']);
    expect(r).toMatchObject({ ok: true, stdout: 'a\nb', stderr: 'oops', exitCode: 0, error: null });
    expect(subprocessCount() - before).toBe(1);
  });
  it('reports exit failures with stderr first line, missing programs, timeouts and aborts', async () => {
    expect((await runProbe('sh', ['-c', 'echo "no server running on x" >&2; echo more >&2; exit 1'])).error).toBe('sh: no server running on x');
    expect((await runProbe('sh', ['-c', 'exit 4'])).error).toBe('sh: exit 4');
    expect((await runProbe('mt-no-such-program-xyz', [])).error).toBe('mt-no-such-program-xyz: not found');
    const slow = await runProbe('sleep', ['30'], { timeoutMs: 100 });
    expect(slow).toMatchObject({ ok: false, error: 'sleep: timed out after 100 ms' });
    const controller = new AbortController();
    const pending = runProbe('sleep', ['30'], { signal: controller.signal });
    controller.abort();
    expect((await pending).error).toBe('sleep: aborted');
  });
});
