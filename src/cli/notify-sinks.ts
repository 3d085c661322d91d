import type { Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import type { AlertSink } from '../notify/alert.js';
import { originOf } from '../notify/targets.js';
import { WebhookSink } from '../notify/webhook.js';

/** `serve`'s push sinks (--notify-url), said once on stderr by origin only, and how to stop them. */
export function alertSinks(
  config: Pick<Config, 'notifyUrls' | 'notifyFormat'>,
  log: Logger,
  dashboardUrl: () => string | undefined,
): { sinks: AlertSink[]; dashboardUrl: () => string | undefined; close(): Promise<void> } {
  const urls = config.notifyUrls ?? [];
  if (!urls.length) return { sinks: [], dashboardUrl, close: async () => undefined };
  const format = config.notifyFormat ?? 'json';
  const webhook = new WebhookSink({ urls, format, log });
  const where = urls.map(originOf).join(', ');
  process.stderr.write(`tabcrew: alerts go to ${urls.length} URL${urls.length === 1 ? '' : 's'} (${where}) as ${format}\n`);
  log.info('alerts', { to: urls.map(originOf), format });
  return { sinks: [webhook], dashboardUrl, close: () => webhook.close() };
}
