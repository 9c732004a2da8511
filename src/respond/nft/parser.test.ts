// Reading `nft -j` output: our chain and rules, set elements with and without timeouts, and output
// of a shape nobody expects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, hasCode } from '../../errors.ts';
import { isMissing, isOurChain, jsonObjects, setElements } from './parser.ts';

const rule = (protocol: string, set: string) => ({
  rule: {
    expr: [
      { match: { op: '==', left: { payload: { protocol, field: 'saddr' } }, right: `@${set}` } },
      { drop: null },
    ],
  },
});
const chain = { chain: { name: 'prerouting', type: 'filter', hook: 'prerouting', prio: -300 } };

test('isOurChain wants the base chain at -300 with both drop rules', () => {
  const out = (...objects: unknown[]) => JSON.stringify({ nftables: objects });
  assert.equal(isOurChain(out(chain, rule('ip', 'blocked4'), rule('ip6', 'blocked6'))), true);
  assert.equal(isOurChain(out(chain, rule('ip', 'blocked4'))), false);
  assert.equal(
    isOurChain(out({ chain: { ...chain.chain, prio: 0 } }, rule('ip', 'blocked4'), rule('ip6', 'blocked6'))),
    false,
  );
});

test('setElements reads plain and timed elements; anything else is unexpected output', () => {
  const set = (elem: unknown[]) => JSON.stringify({ nftables: [{ set: { name: 'blocked4', elem } }] });
  assert.deepEqual(
    setElements(set(['192.0.2.1', { elem: { val: '192.0.2.2', timeout: 60, expires: 59 } }])),
    [
      { address: '192.0.2.1', expiresInSeconds: null },
      { address: '192.0.2.2', expiresInSeconds: 59 },
    ],
  );
  assert.throws(
    () => setElements(set([{ prefix: 1 }])),
    (err) => hasCode(err, ErrorCodes.UNEXPECTED_OUTPUT),
  );
  assert.throws(
    () => jsonObjects('{"other": []}'),
    (err) => hasCode(err, ErrorCodes.UNEXPECTED_OUTPUT),
  );
  assert.equal(isMissing({ code: 1, stdout: '', stderr: 'Error: No such file or directory\n' }), true);
  assert.equal(isMissing({ code: 0, stdout: '', stderr: '' }), false);
});
