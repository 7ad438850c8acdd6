/** A daemon with the telegram extension against the fake Bot API, as the end-to-end tests start and end it. */
import { startDaemonProcess, stopStartedDaemons, type DaemonProcess } from './daemon-process.ts';
import type { FakeTelegram } from './fake-telegram.ts';
import type { TestWorld } from './harness.ts';

/** Starts the daemon on `config` and waits until its bot polls the fake Bot API. */
export async function startPollingDaemon(world: TestWorld, config: string, telegram: FakeTelegram): Promise<DaemonProcess> {
  const daemon = await startDaemonProcess(world, ['--config', config]);
  await telegram.waitForCall((call) => call.method === 'getUpdates', 10_000);
  return daemon;
}

/** Stops every daemon the test started, then the fake Bot API, then removes the world. */
export async function closeTelegramWorld(world: TestWorld, telegram: FakeTelegram): Promise<void> {
  await stopStartedDaemons();
  await telegram.close();
  await world.cleanup();
}
