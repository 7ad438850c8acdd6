/**
 * The daemon's control socket alone, in a process of its own so a test can measure its memory:
 * `node --import bin/register-hooks.mjs test/support/bridge-server-process.ts SOCKET` serves `daemon.ping`
 * to nobody (every credential is refused, as a stranger's would be) and prints `listening`.
 */
import { RpcServer } from '../../core/bridge/rpc-server.ts';
import { silentLogger } from '../../core/util/log.ts';

const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: bridge-server-process.ts SOCKET');
const server = new RpcServer({ socketPath, logger: silentLogger, authenticate: () => undefined });
server.register('daemon.ping', () => ({ pong: true }), { access: 'any' });
await server.listen();
process.stdout.write('listening\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
