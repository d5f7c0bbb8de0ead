import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodSessions } from './pod-sessions.ts';

describe('PodSessions', () => {
  it('ends only the deleted pod’s sessions, with the reason', () => {
    const sessions = new PodSessions(new AbortController().signal);
    const web = sessions.start('default', 'web');
    const other = sessions.start('default', 'db');
    sessions.podGone('default', 'web');
    assert.equal(web.signal.aborted, true);
    assert.equal((web.signal.reason as Error).message, 'pod default/web was deleted');
    assert.equal(other.signal.aborted, false);
    assert.equal(sessions.size, 1);
  });

  it('ends every session when the node shuts down, and forgets released ones', () => {
    const shutdown = new AbortController();
    const sessions = new PodSessions(shutdown.signal);
    const first = sessions.start('a', 'p');
    const released = sessions.start('a', 'q');
    released.release();
    shutdown.abort();
    assert.equal(first.signal.aborted, true);
    assert.equal(released.signal.aborted, false);
    assert.equal(
      sessions.start('a', 'r').signal.aborted,
      true,
      'a session started during shutdown ends at once',
    );
  });
});
