/**
 * Orders publications of one channel by (epoch, offset). An epoch is an opaque id: offsets only
 * compare within one. A server that lost a channel's history starts a new epoch, offsets from 1
 * again, so publications of an epoch learned later rank above those of every earlier one; each
 * epoch gets a rank the first time the page sees it.
 */
export class StreamOrder {
  readonly #ranks = new Map<string, number>();

  /** The rank of `epoch`, ranking it above all others if it is new. */
  rankOf(epoch: string): number {
    let rank = this.#ranks.get(epoch);
    if (rank === undefined) {
      rank = this.#ranks.size + 1;
      this.#ranks.set(epoch, rank);
    }
    return rank;
  }

  /** The rank of the newest epoch seen (0 before any), for publications that carry none. */
  get latestRank(): number {
    return this.#ranks.size;
  }
}
