/** Build: analyse everything up front (settings, version), then contribute the layers in order. */
import type { BuildContext } from './cnb/context.js';
import type { Logger } from './logger.js';
import { writeLaunch, process_ } from './cnb/launch.js';

export async function build(ctx: BuildContext, log: Logger): Promise<void> {
  log.header('ausnimbus/python');
  await writeLaunch(ctx.layers.dir, { processes: [process_('web', ['python3', 'app.py'], { default: true })] });
}
