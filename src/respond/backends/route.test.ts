import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteBackend } from './route.ts';
import { fakeContext } from '../../../test/helpers/backend-context.ts';

const CONF = 'KILL_ROUTE="/usr/sbin/ip route add blackhole $TARGET$"\n';
const target = { address: '192.0.2.9', backends: ['route' as const], port: 1, mode: 'tcp' };

test('route: block runs KILL_ROUTE and logs 1.2 line; lift runs the derived UNKILL_ROUTE', async () => {
  const { ctx, lines, ran } = fakeContext(CONF);
  const route = new RouteBackend(ctx);
  assert.equal(route.inUse(), true);
  assert.equal(route.name, 'route');
  const report = await route.block({
    address: '192.0.2.9',
    host: '192.0.2.9',
    port: 1,
    mode: 'tcp',
    protocol: 'tcp',
  });
  assert.deepEqual(report, {
    key: 'KILL_ROUTE',
    ok: true,
    detail: '/usr/sbin/ip route add blackhole 192.0.2.9',
  });
  assert.match(lines[0] ?? '', /has been blocked via dropped route using command/);
  assert.deepEqual(await route.lift([target]), ['192.0.2.9']);
  assert.deepEqual(ran.at(-1), ['/usr/sbin/ip', 'route', 'del', 'blackhole', '192.0.2.9']);
});

test('route: reapply only after a reboot, UNKILL_ROUTE first when the response was cut off; failures counted', async () => {
  const { ctx, ran, lines } = fakeContext(CONF, {
    '/usr/sbin/ip': { ok: false, reason: 'exited with status 2' },
  });
  const route = new RouteBackend(ctx);
  const bans = [{ ...target, secondsLeft: null }];
  assert.equal(await route.reapply(bans, { routes: false, interrupted: false }), 0);
  assert.deepEqual(ran, []);
  assert.equal(await route.reapply(bans, { routes: true, interrupted: true }), 1);
  assert.deepEqual(
    ran.map((argv) => argv[2]),
    ['del', 'add'],
  );
  assert.equal(lines.length, 1);
  assert.equal(new RouteBackend(ctx, false).inUse(), false, 'not in use with BLOCK_BACKEND=nft alone');
});
