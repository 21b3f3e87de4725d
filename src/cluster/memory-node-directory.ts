import type { NodeAnnouncement } from './node-announcement.ts';
import type { NodeDirectory } from './node-directory.ts';

/** The embedded broker's directory: a cluster of one, this process. */
export class MemoryNodeDirectory implements NodeDirectory {
  #own: NodeAnnouncement | undefined;

  async announce(announcement: NodeAnnouncement): Promise<void> {
    this.#own = announcement;
  }

  async list(): Promise<NodeAnnouncement[]> {
    return this.#own === undefined ? [] : [this.#own];
  }

  async remove(id: string): Promise<void> {
    if (this.#own?.id === id) this.#own = undefined;
  }
}
