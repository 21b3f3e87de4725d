import type { JoinOutcome, OnlineStatus, SubjectStatus } from './online-status.ts';

/** Online status in this process's memory (the embedded broker: one process, nothing lapses). */
export class MemoryOnlineStatus implements OnlineStatus {
  readonly #members = new Map<string, Set<string>>();
  readonly #lastSeen = new Map<string, number>();
  readonly #notified = new Map<string, 'online' | 'offline'>();

  async join(subject: string, member: string): Promise<JoinOutcome> {
    let members = this.#members.get(subject);
    const online = members === undefined;
    if (members === undefined) this.#members.set(subject, (members = new Set()));
    members.add(member);
    if (!online) return { online: false, notify: false };
    const notify = this.#notified.get(subject) !== 'online';
    this.#notified.set(subject, 'online');
    return { online, notify };
  }

  async leave(subject: string, member: string): Promise<number | undefined> {
    const members = this.#members.get(subject);
    if (members === undefined || !members.delete(member) || members.size > 0) return undefined;
    this.#members.delete(subject);
    // Departures are told apart by their time: two in one millisecond get distinct ones.
    const now = Math.max(Date.now(), (this.#lastSeen.get(subject) ?? 0) + 1);
    this.#lastSeen.set(subject, now);
    return now;
  }

  async confirmOffline(subject: string, lastSeen: number): Promise<boolean> {
    if (this.#members.has(subject) || this.#lastSeen.get(subject) !== lastSeen || this.#notified.get(subject) !== 'online') return false;
    this.#notified.set(subject, 'offline');
    return true;
  }

  async lookup(subjects: readonly string[]): Promise<Map<string, SubjectStatus>> {
    const statuses = new Map<string, SubjectStatus>();
    for (const subject of subjects) {
      const online = this.#members.has(subject);
      statuses.set(subject, { online, lastSeen: online ? null : (this.#lastSeen.get(subject) ?? null) });
    }
    return statuses;
  }

  onTransition(): void {
    // Members live exactly as long as their connection in this process: none ever lapses.
  }

  async close(): Promise<void> {
    this.#members.clear();
  }
}
