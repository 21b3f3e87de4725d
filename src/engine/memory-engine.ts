import type { BrokerHealth } from '../broker/broker.ts';
import { MemoryBroker } from '../broker/memory-broker.ts';
import { MemoryNodeDirectory } from '../cluster/memory-node-directory.ts';
import { MemoryPresence } from '../presence/memory-presence.ts';
import { LocalTickDispatcher, type TickDispatcher } from '../schedules/tick-dispatcher.ts';
import { InProcessTaskRunner } from '../tasks/in-process-runner.ts';
import type { TaskRunner } from '../tasks/task-runner.ts';
import type { Engine, TaskRunnerNeeds, TickDispatcherNeeds } from './engine.ts';

/** One process, no dependencies: everything in memory, tasks and ticks run here. */
export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;
  readonly broker = new MemoryBroker();
  readonly presence = new MemoryPresence();
  readonly nodes = new MemoryNodeDirectory();
  readonly redis = undefined;
  readonly keys = undefined;

  taskRunner(needs: TaskRunnerNeeds): TaskRunner {
    return new InProcessTaskRunner(needs.registry, needs.publish, needs.log, { maxQueued: needs.maxQueued });
  }

  tickDispatcher(needs: TickDispatcherNeeds): TickDispatcher {
    return new LocalTickDispatcher(needs.run);
  }

  findChannels(): undefined {
    return undefined;
  }

  health(): BrokerHealth {
    return this.broker.health();
  }

  async close(): Promise<void> {
    await this.presence.close();
    await this.broker.close();
  }
}
