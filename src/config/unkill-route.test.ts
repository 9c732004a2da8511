import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandTemplate } from './command-template.ts';
import { deriveUnkillRoute } from './unkill-route.ts';

function derive(text: string): string | null {
  const parsed = parseCommandTemplate(text);
  assert.ok(parsed.ok);
  return deriveUnkillRoute(parsed.template)?.text ?? null;
}

test('the undo of the well-known KILL_ROUTE commands', () => {
  assert.equal(derive('/sbin/route add -host $TARGET$ reject'), '/sbin/route del -host $TARGET$ reject');
  assert.equal(
    derive('/usr/sbin/ip route add blackhole $TARGET$'),
    '/usr/sbin/ip route del blackhole $TARGET$',
  );
  assert.equal(derive('ip -6 route add blackhole $TARGET$'), 'ip -6 route del blackhole $TARGET$');
  assert.equal(
    derive('/sbin/iptables -I INPUT -s $TARGET$ -j DROP'),
    '/sbin/iptables -D INPUT -s $TARGET$ -j DROP',
  );
  assert.equal(derive('iptables -I INPUT 1 -s $TARGET$ -j DROP'), 'iptables -D INPUT -s $TARGET$ -j DROP');
  assert.equal(
    derive('ip6tables-legacy -A INPUT -s $TARGET$ -j REJECT'),
    'ip6tables-legacy -D INPUT -s $TARGET$ -j REJECT',
  );
  assert.equal(derive('ipset add blacklist $TARGET$'), 'ipset del blacklist $TARGET$');
  assert.equal(
    derive('/usr/sbin/nft add element inet lab ban4 { $TARGET$ }'),
    "/usr/sbin/nft delete element inet lab ban4 '{' $TARGET$ '}'",
  );
  // Steps are undone in reverse order.
  assert.equal(
    derive('ipset add bl $TARGET$ && iptables -I INPUT -s $TARGET$ -j DROP'),
    'iptables -D INPUT -s $TARGET$ -j DROP && ipset del bl $TARGET$',
  );
});

test('anything else has no derived undo', () => {
  assert.equal(derive('/usr/local/bin/block $TARGET$'), null);
  assert.equal(derive('ip addr add $TARGET$ dev lo'), null);
  assert.equal(derive('iptables -L'), null);
  assert.equal(derive('ipset add bl $TARGET$ && /usr/local/bin/notify $TARGET$'), null);
});

test('the derived text parses back to the same argument vectors', () => {
  const parsed = parseCommandTemplate('/usr/sbin/nft add element inet lab ban4 { $TARGET$ }');
  assert.ok(parsed.ok);
  const undo = deriveUnkillRoute(parsed.template);
  assert.ok(undo);
  const again = parseCommandTemplate(undo.text);
  assert.ok(again.ok);
  assert.deepEqual(again.template.steps, undo.steps);
});
