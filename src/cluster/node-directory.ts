import type { NodeAnnouncement } from './node-announcement.ts';

/** Where announcements are kept so that any process can list the cluster at once. */
export interface NodeDirectory {
  /** Records `announcement`, valid for `ttlMs` unless announced again. */
  announce(announcement: NodeAnnouncement, ttlMs: number): Promise<void>;
  /** Every announcement still valid, this process's included. */
  list(): Promise<NodeAnnouncement[]>;
  /** Forgets the node `id` at once (clean shutdown). */
  remove(id: string): Promise<void>;
}
